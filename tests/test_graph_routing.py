"""Routing functions of the workflow are pure: test them directly."""

from mailorder.agent.workflow.routing import after_edits, after_post, after_review, after_triage

REP = {"rep": "rep@example.com", "reply_email_id": 7}


def test_only_orders_are_extracted():
    assert after_triage({"email_id": 1, "triage": "order"}) == "extract"
    assert after_triage({"email_id": 1, "triage": "quote_request"}) == "__end__"


def test_decisions_route_to_post_reject_or_a_new_summary():
    assert after_review({"email_id": 1, "decision": {"kind": "approve"} | REP}) == "post_erp"
    assert after_review({"email_id": 1, "decision": {"kind": "reject"} | REP}) == "reject"
    assert (
        after_review(
            {"email_id": 1, "decision": {"kind": "edit", "ops": [{"op": "remove", "line": 1}]} | REP}
        )
        == "apply_edits"
    )
    assert (
        after_review(
            {"email_id": 1, "decision": {"kind": "approve", "ops": [{"op": "remove", "line": 1}]} | REP}
        )
        == "apply_edits"
    )
    assert (
        after_review(
            {"email_id": 1, "decision": {"kind": "reject", "ops": [{"op": "remove", "line": 1}]} | REP}
        )
        == "reject"
    )


def test_edits_send_a_new_version_unless_approved_clean():
    assert after_edits({"email_id": 1, "outcome": "edited"}) == "notify_rep"
    assert after_edits({"email_id": 1, "outcome": "approved_after_edit"}) == "post_erp"
    assert after_edits({"email_id": 1, "outcome": "no_changes"}) == "review"


def test_a_failed_post_waits_for_the_rep_again():
    assert after_post({"email_id": 1, "outcome": "posted"}) == "confirm"
    assert after_post({"email_id": 1, "outcome": "erp_rejected"}) == "review"
    assert after_post({"email_id": 1, "outcome": "erp_unavailable"}) == "review"
