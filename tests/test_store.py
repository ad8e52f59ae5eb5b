"""Store repositories against a real SQLite file."""

from __future__ import annotations

from mailorder.store import repo
from mailorder.store.db import make_engine, make_session_factory
from mailorder.store.models import EmailRecord, OutboxMessage, ReplyRecord


def sessions(tmp_path):
    return make_session_factory(make_engine(f"sqlite:///{tmp_path / 'store.db'}"))


def email(message_id: str, uid: int, clock) -> EmailRecord:
    return EmailRecord(
        message_id=message_id, mailbox="INBOX", uidvalidity=7, uid=uid, received_at=clock(), raw=b"x"
    )


def test_email_is_stored_once_per_message_id_and_per_uid(tmp_path, clock):
    factory = sessions(tmp_path)
    with factory.begin() as s:
        assert repo.insert_email(s, email("<a@x>", 1, clock)) is not None
        assert repo.insert_email(s, email("<a@x>", 2, clock)) is None  # same Message-ID
        assert repo.insert_email(s, email("<b@x>", 1, clock)) is None  # same UIDVALIDITY+UID
        assert repo.insert_email(s, email("<c@x>", 3, clock)) is not None
    with factory() as s:
        assert [e.message_id for e in s.query(EmailRecord).order_by(EmailRecord.id)] == ["<a@x>", "<c@x>"]


def test_a_reply_and_its_token_can_be_claimed_only_once(tmp_path, clock):
    factory = sessions(tmp_path)
    with factory.begin() as s:
        first = repo.insert_email(s, email("<r1@x>", 1, clock))
        second = repo.insert_email(s, email("<r2@x>", 2, clock))

        def reply(email_id, token):
            return ReplyRecord(
                email_id=email_id,
                sender="rep@x",
                decision="approve",
                outcome="accepted",
                token_used=token,
                created_at=clock(),
            )

        assert repo.claim_reply(s, reply(first.id, "tok"))
        assert not repo.claim_reply(s, reply(first.id, None))  # same email again
        assert not repo.claim_reply(s, reply(second.id, "tok"))  # replayed token


def test_outbox_records_an_intent_once_per_message_id(tmp_path, clock):
    factory = sessions(tmp_path)
    with factory.begin() as s:

        def message():
            return OutboxMessage(
                message_id="<mo.summary.1.v1@x>",
                kind="summary",
                sender="a@x",
                recipients=["b@x"],
                raw=b"raw",
                created_at=clock(),
                sent_at=None,
            )

        one = repo.enqueue_outbox(s, message())
        two = repo.enqueue_outbox(s, message())
        assert one.id == two.id
        assert [m.id for m in repo.pending_outbox(s)] == [one.id]


def test_audit_trail_filters_by_draft_or_email(tmp_path, clock):
    factory = sessions(tmp_path)
    with factory.begin() as s:
        repo.audit(s, clock(), "agent", "ingested", email_id=1, subject="x")
        repo.audit(s, clock(), "rep@x", "approved", draft_id=5, email_id=1)
        repo.audit(s, clock(), "agent", "ingested", email_id=2)
    with factory() as s:
        assert [e.action for e in repo.audit_trail(s, email_id=1)] == ["ingested", "approved"]
        assert [e.action for e in repo.audit_trail(s, draft_id=5)] == ["approved"]


def test_stats_count_classes_states_and_latencies(tmp_path, clock):
    from datetime import timedelta

    from mailorder.store.stats import compute_stats

    factory = sessions(tmp_path)
    t0 = clock()
    with factory.begin() as s:
        order = repo.insert_email(s, email("<o@x>", 1, clock))
        order.triage_label, order.status = "order", "drafted"
        spam = repo.insert_email(s, email("<s@x>", 2, clock))
        spam.triage_label, spam.status = "marketing", "not_order"
        draft = repo.create_draft(
            s, t0, email_id=order.id, rep="rep@x", payload={}, customer_id="C", customer_name=None
        )
        repo.audit(s, t0, "agent", "ingested", email_id=order.id)
        repo.audit(s, t0 + timedelta(seconds=4), "agent", "summary_sent", draft_id=draft.id)
        repo.audit(s, t0 + timedelta(seconds=64), "rep@x", "approved", draft_id=draft.id)
        repo.audit(s, t0, "agent", "confirmation_bounced", draft_id=draft.id, to=["a@x"])
        repo.audit(s, t0, "agent", "summary_send_failed", draft_id=draft.id, final=False)  # retried later
        repo.audit(s, t0, "agent", "notice_refused_send_failed", draft_id=draft.id, final=True)
        # refused at RCPT: counted once, as the bounce audited with it (confirmation_bounced above)
        repo.audit(s, t0, "agent", "confirmation_send_failed", draft_id=draft.id, final=True, refused=True)
        draft.status = "confirmed"
    with factory() as s:
        figures = compute_stats(s)
    assert figures["mail_delivery_problems"] == {"confirmation_bounced": 1, "notice_refused_send_failed": 1}
    assert figures["emails_by_class"] == {"order": 1, "marketing": 1}
    assert figures["drafts_by_state"] == {"confirmed": 1}
    assert figures["median_seconds_email_to_summary"] == 4
    assert figures["median_seconds_summary_to_decision"] == 60
    assert figures["automation_rate"] == 1.0
