"""agent.review.autopost_policy: the policy's verdict on a draft, condition by condition (pure)."""

from mailorder.agent.review.autopost_policy import History, Policy, evaluate
from mailorder.domain import Customer, Draft, DraftLine, Issue, IssueCode

ON = Policy(enabled=True, customers=frozenset({"*"}), min_history=2, max_total=2500)
HISTORY = History(clean_approvals=3, largest_base_qty={"06-0104-0221": 100.0})


def line(**kw) -> DraftLine:
    base = dict(
        sku="06-0104-0221",
        qty=2,
        unit="rol",
        base_qty=100.0,
        confidence=0.99,
        source_text="2 rol 06-0104-0221",
        line_total=990.0,
        available=500.0,
    )
    return DraftLine(**(base | kw))


def draft(*lines: DraftLine, **kw) -> Draft:
    base = dict(customer=Customer(company_id="COMP-004"), lines=list(lines) or [line()], total=990.0)
    return Draft(**(base | kw))


def test_a_routine_order_qualifies_and_says_why():
    verdict = evaluate(draft(), policy=ON, history=HISTORY)
    assert verdict.qualifies and verdict.failures == []
    assert any("explicit article code" in r for r in verdict.reasons)
    assert any("3 earlier order(s)" in r for r in verdict.reasons)


def test_off_by_default_and_per_customer():
    assert not evaluate(draft(), policy=Policy(), history=HISTORY).qualifies
    only_other = Policy(enabled=True, customers=frozenset({"COMP-009"}))
    assert not evaluate(draft(), policy=only_other, history=HISTORY).qualifies


def test_each_condition_stops_it():
    cases = {
        "customer unknown": dict(d=draft(customer=None)),
        "open issue": dict(
            d=draft(issues=[Issue(code=IssueCode.LOW_CONFIDENCE, message="x", blocking=False)])
        ),
        "not certain": dict(d=draft(line(source_text="2 rollen limegroen 126"))),
        "unusual quantity": dict(d=draft(line(base_qty=400.0))),
        "not enough stock": dict(d=draft(line(available=50.0))),
        "stock unknown": dict(d=draft(line(available=None))),
        "above the limit": dict(d=draft(total=2600.0)),
        "text not understood": dict(unread_text=["bel me eerst even"]),
        "attachment not fully read": dict(unread_attachments=["PO-1.pdf"]),
        "approved without edits": dict(
            history=History(clean_approvals=1, largest_base_qty=HISTORY.largest_base_qty)
        ),
        "corrected or held": dict(
            history=History(
                clean_approvals=5, corrected_recently=True, largest_base_qty=HISTORY.largest_base_qty
            )
        ),
    }
    for needle, case in cases.items():
        verdict = evaluate(
            case.get("d", draft()),
            policy=ON,
            history=case.get("history", HISTORY),
            unread_text=case.get("unread_text", ()),
            unread_attachments=case.get("unread_attachments", ()),
        )
        assert not verdict.qualifies and any(needle in f for f in verdict.failures), (needle, verdict)


def test_a_learned_alias_counts_as_certain_and_a_new_product_needs_history():
    taught = draft(line(source_text="2 rollen limegroen 126"))
    assert evaluate(
        taught, policy=ON, history=HISTORY, learned_skus={"limegroen 126": "06-0104-0221"}
    ).qualifies
    new_product = draft(line(sku="06-0104-9999", source_text="2 rol 06-0104-9999"))
    assert not evaluate(new_product, policy=ON, history=HISTORY).qualifies
    no_history_needed = Policy(enabled=True, customers=frozenset({"*"}), min_history=0)
    assert evaluate(new_product, policy=no_history_needed, history=History()).qualifies


def test_an_order_file_counts_as_read_only_when_the_draft_took_lines_from_it():
    from mailorder.agent.review.autopost import unread_attachments
    from mailorder.domain import Attachment, AttachmentNote, ParsedEmail

    files = [
        Attachment(filename="PO-1.pdf", content_type="application/pdf", order_source=True),
        Attachment(filename="prices.xlsx", content_type="application/vnd.ms-excel", order_source=True),
        Attachment(filename="image001.png", content_type="image/png"),
        Attachment(filename="invite.ics", content_type="text/calendar"),
        Attachment(filename="more.zip", content_type="application/zip"),
    ]
    email = ParsedEmail(message_id="<a@b>", sender="a@b.example", attachments=files)
    read = draft(
        attachments=[
            AttachmentNote(filename="PO-1.pdf", read=True, lines=2),
            AttachmentNote(filename="prices.xlsx", read=True, lines=0),
        ]
    )
    assert unread_attachments(email, read) == ["prices.xlsx", "more.zip"]
    assert unread_attachments(email, draft()) == ["PO-1.pdf", "prices.xlsx", "more.zip"]
