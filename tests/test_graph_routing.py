"""Routing functions of the workflow are pure: test them directly."""
from mailorder.agent.workflow.graph import route_after_edits, route_after_post, route_after_triage, route_decision


def test_only_orders_are_extracted():
    assert route_after_triage({"email_id": 1, "triage": "order"}) == "extract"
    assert route_after_triage({"email_id": 1, "triage": "quote_request"}) == "__end__"


def test_decisions_route_to_post_reject_or_a_new_summary():
    assert route_decision({"email_id": 1, "decision": {"kind": "approve"}}) == "post_erp"
    assert route_decision({"email_id": 1, "decision": {"kind": "reject"}}) == "reject"
    assert route_decision({"email_id": 1, "decision": {"kind": "edit", "ops": [{"op": "remove", "line": 1}]}}) == "apply_edits"
    assert route_decision({"email_id": 1, "decision": {"kind": "approve", "ops": [{"op": "remove", "line": 1}]}}) == "apply_edits"
    assert route_decision({"email_id": 1, "decision": {"kind": "reject", "ops": [{"op": "remove", "line": 1}]}}) == "reject"


def test_edits_send_a_new_version_unless_approved_clean():
    assert route_after_edits({"email_id": 1, "outcome": "edited"}) == "notify_rep"
    assert route_after_edits({"email_id": 1, "outcome": "approved_after_edit"}) == "post_erp"
    assert route_after_edits({"email_id": 1, "outcome": "no_changes"}) == "review"


def test_a_failed_post_waits_for_the_rep_again():
    assert route_after_post({"email_id": 1, "outcome": "posted"}) == "confirm"
    assert route_after_post({"email_id": 1, "outcome": "erp_rejected"}) == "review"
    assert route_after_post({"email_id": 1, "outcome": "erp_unavailable"}) == "review"
