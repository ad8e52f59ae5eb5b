"""The hostile corpus (tests/fixtures/hostile, see make_corpus.py) through the whole loop: real SMTP
into the dev mail server, IMAP polling, the graph. Every message must end in its expected state
with an audit trail, the poller must never raise, and nothing may be mailed to any sender of the
corpus: the only outbound mail is one summary to the rep per drafted message."""
from __future__ import annotations

import json
import re
import time
from email import message_from_bytes, policy
from email.utils import getaddresses

import pytest

from agent.runner import PollReport
from mail.imap import FAILED_FOLDER
from store.models import DraftRecord, EmailRecord, EmailStatus, OutboxMessage, ReplyRecord
from tests.conftest import ROOT
from tests.loop_harness import ORDERS, REP, Loop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

CORPUS = ROOT / "tests" / "fixtures" / "hostile"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
LIMIT = 200_000  # max_message_bytes for this run (make_corpus.LIMIT)
FINAL_ACTION = {"failed": "failed", "ignored": "ignored", "not_order": "triaged", "drafted": "drafted"}


def test_corpus_is_big_and_covers_every_outcome():
    assert len(EXPECTED) >= 50
    assert {spec["status"] for spec in EXPECTED.values()} == set(FINAL_ACTION)
    assert all((CORPUS / name).is_file() for name in EXPECTED)
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


async def poll_until_final(loop: Loop, count: int, timeout: float = 90.0) -> list[PollReport]:
    """Poll until `count` emails are stored and none is still waiting to be processed."""
    reports: list[PollReport] = []
    deadline = time.monotonic() + timeout
    while True:
        reports.append(await loop.runner.poll_once())
        emails = loop.emails()
        if len(emails) >= count and all(e.status != EmailStatus.RECEIVED for e in emails):
            return reports
        assert time.monotonic() < deadline, f"{len(emails)}/{count} stored, not all final"


async def test_hostile_corpus_through_the_loop(tmp_path, clock):
    async with Loop(tmp_path, clock, max_message_bytes=LIMIT) as loop:
        for name, spec in EXPECTED.items():  # one SMTP transaction each, so UIDs follow this order
            await loop.send_raw((CORPUS / name).read_bytes(), sender=spec["envelope_from"])
        reports = await poll_until_final(loop, len(EXPECTED))

        assert [error for report in reports for error in report.errors] == []
        assert loop.audit("processing_error") == []
        emails = sorted(loop.emails(), key=lambda e: e.uid)
        assert len(emails) == len(EXPECTED)
        by_file = dict(zip(EXPECTED, emails))
        problems = [problem for name, record in by_file.items()
                    for problem in check_email(loop, name, EXPECTED[name], record)]
        assert problems == []

        check_failed_folder(loop, [n for n, s in EXPECTED.items() if s["status"] == "failed"])
        check_nothing_to_senders(loop, by_file)
        with loop.sessions() as session:
            assert session.query(ReplyRecord).count() == 0  # nothing was taken as a review
        assert loop.erp_orders() == []
        assert loop.audit("approved") == [] and loop.audit("posted") == []


def check_email(loop: Loop, name: str, spec: dict, record: EmailRecord) -> list[str]:
    """What is wrong with one message's outcome (empty when all is as expected)."""
    problems = []
    if record.status != spec["status"]:
        problems.append(f"{name}: status {record.status} != {spec['status']} ({record.error or ''})")
    if spec.get("label") and record.triage_label != spec["label"]:
        problems.append(f"{name}: label {record.triage_label} != {spec['label']}")
    trail = audit_for(loop, record.id)
    actions = [e.action for e in trail]
    if not actions or actions[0] != "ingested":
        problems.append(f"{name}: trail does not start with ingested: {actions}")
    final = FINAL_ACTION[spec["status"]]
    if final not in actions:
        problems.append(f"{name}: no {final} in {actions}")
    if spec["status"] in ("ignored", "failed") and spec.get("reason"):
        detail = next((e.details for e in trail if e.action == final), {})
        text = str(detail.get("reason") or detail.get("error") or "")
        if spec["reason"].lower() not in text.lower():
            problems.append(f"{name}: {final} because {text!r}, expected {spec['reason']!r}")
    return problems


def audit_for(loop: Loop, email_id: int):
    return [e for e in loop.audit() if e.email_id == email_id]


def check_failed_folder(loop: Loop, failed: list[str]) -> None:
    moved = loop.mailbox(ORDERS, folder=FAILED_FOLDER)
    assert len(moved) == len(failed)


def check_nothing_to_senders(loop: Loop, by_file: dict[str, EmailRecord]) -> None:
    """Only summaries, only to the rep, exactly one per drafted message, no injected headers."""
    with loop.sessions() as session:
        outbox = list(session.query(OutboxMessage))
        drafted_ids = {r.id for n, r in by_file.items() if EXPECTED[n]["status"] == "drafted"}
        summary_emails = sorted(session.get(DraftRecord, m.draft_id).email_id for m in outbox)
    assert {m.kind for m in outbox} == {"summary"}
    assert sorted(summary_emails) == sorted(drafted_ids)
    for message in outbox:
        assert message.recipients == [REP]
        parsed = message_from_bytes(message.raw, policy=policy.default)
        addressed = getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in parsed.get_all(k) or []])
        assert [a for _, a in addressed] == [REP]
        assert not re.search(rb"(?im)^(?:bcc|cc):", header_block(message.raw))  # no injected header
    # nobody else got mail: the dev server only has the inbox and the rep's account
    assert set(loop.mail.accounts()) <= {ORDERS, REP}
    assert len(loop.rep_mail()) == len(drafted_ids)


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    return raw[: end if end >= 0 else len(raw)]
