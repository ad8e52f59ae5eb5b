"""The whole loop for end-to-end tests: dev mail server + mock ERP + the agent, on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from pathlib import Path

import httpx

from mailorder.agent.config import Settings
from mailorder.agent.service import open_runner
from mailorder.mail.devserver import DevMailServer
from mailorder.mail.imap import ImapInbox
from mailorder.mail.smtp import SmtpSender
from mailorder.mock_erp.server import ErpServer
from mailorder.store import repo
from mailorder.store.models import AuditEvent, DraftRecord, EmailRecord, OutboxMessage
from tests.conftest import ROOT, free_port

ORDERS, REP, PASSWORD = "orders@example.com", "rep@example.com", "dev"


def catalog() -> list[dict]:
    return json.loads((ROOT / "data" / "products.json").read_text(encoding="utf-8"))


def known_contact() -> tuple[str, str]:
    """(sender address, company public id) of a contact in the sample data."""
    contacts = json.loads((ROOT / "data" / "contacts.json").read_text(encoding="utf-8"))
    companies = {
        c["id"]: c for c in json.loads((ROOT / "data" / "companies.json").read_text(encoding="utf-8"))
    }
    contact = next(c for c in contacts if c["company_id"] in companies)
    return contact["email_address"], companies[contact["company_id"]]["company_id"]


def order_email(sender: str, subject: str, body: str, *, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ORDERS
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    message["Date"] = "Mon, 02 Mar 2026 08:30:00 +0100"
    message.set_content(body)
    return message


class Loop:
    def __init__(self, tmp_path: Path, clock, **settings_overrides) -> None:
        self.tmp_path, self.clock = tmp_path, clock
        self.smtp_port, self.imap_port = free_port(), free_port()
        self.mail = DevMailServer(
            tmp_path / "mail",
            smtp_port=self.smtp_port,
            imap_port=self.imap_port,
            accounts=[ORDERS, REP],
            password=PASSWORD,
        )
        self.erp = ErpServer(ROOT / "data", f"sqlite:///{tmp_path / 'erp.db'}", port=free_port())
        self.smtp = SmtpSender("127.0.0.1", self.smtp_port)
        self.overrides = settings_overrides
        self._stack: AsyncExitStack | None = None
        self.runner = None
        self._rep_seen: dict[str, int] = {}

    @property
    def settings(self) -> Settings:
        values = dict(
            imap_port=self.imap_port,
            smtp_port=self.smtp_port,
            imap_user=ORDERS,
            imap_password=PASSWORD,
            from_address=ORDERS,
            erp_url=self.erp.url,
            reps=[REP],
            secret="test-secret",
            database_url=f"sqlite:///{self.tmp_path / 'mailorder.db'}",
        )
        values.update(self.overrides)
        return Settings(**values)

    async def __aenter__(self) -> Loop:
        self.mail.start()
        self.erp.start()
        await self.start_agent()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop_agent()
        self.erp.stop()
        self.mail.stop()

    async def start_agent(self) -> None:
        self._stack = AsyncExitStack()
        self.runner = await self._stack.enter_async_context(open_runner(self.settings, clock=self.clock))

    async def stop_agent(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack, self.runner = None, None

    # --- mail ----------------------------------------------------------------------------------
    async def send(
        self, message: EmailMessage, sender: str | None = None, to: list[str] | None = None
    ) -> None:
        from_addr = sender or getaddresses([str(message["From"])])[0][1]
        rcpt = to or [a for _, a in getaddresses([str(message["To"])])]
        await self.smtp.send(message.as_bytes(policy=policy.SMTP), from_addr, rcpt)

    async def send_raw(self, raw: bytes, sender: str = "someone@customer.example") -> None:
        await self.smtp.send(raw, sender, [ORDERS])

    def mailbox(self, account: str, password: str = PASSWORD, folder: str = "INBOX") -> list[EmailMessage]:
        inbox = ImapInbox("127.0.0.1", self.imap_port, account, password, folder=folder)
        try:
            result = inbox.fetch_new(0, None, max_bytes=100_000_000, batch=10_000)
        finally:
            inbox.close()
        return [message_from_bytes(m.raw, policy=policy.default) for m in result.messages]

    def rep_mail(self, kind: str = "summary") -> list[EmailMessage]:
        """The rep's mail from the agent of one kind ("summary", "notice-refused", ...)."""
        return [m for m in self.mailbox(REP) if str(m["Message-ID"]).strip().startswith(f"<mo.{kind}.")]

    def rep_notices(self) -> list[EmailMessage]:
        return [m for m in self.mailbox(REP) if str(m["Message-ID"]).strip().startswith("<mo.notice-")]

    async def reply(
        self,
        summary: EmailMessage,
        text: str,
        *,
        sender: str = REP,
        to: str | None = None,
        quote: bool = True,
    ) -> EmailMessage:
        reply = EmailMessage()
        reply["From"] = sender
        reply["To"] = to or getaddresses([str(summary["Reply-To"])])[0][1]
        reply["Subject"] = "Re: " + str(summary["Subject"])
        reply["Message-ID"] = make_msgid(domain="example.com")
        reply["In-Reply-To"] = str(summary["Message-ID"])
        reply["References"] = str(summary["Message-ID"])
        body = text
        if quote:
            original = summary.get_body(("plain",)).get_content()
            body += f"\n\nOn Mon, 2 Mar 2026, {ORDERS} wrote:\n" + "\n".join(
                "> " + ln for ln in original.splitlines()
            )
        reply.set_content(body)
        await self.send(reply, sender=sender)
        return reply

    async def reply_text(self, summary: EmailMessage, body: str, *, sender: str = REP) -> EmailMessage:
        """A reply whose whole body the test writes (e.g. with an edited quote)."""
        return await self.reply(summary, body, sender=sender, quote=False)

    # --- agent ---------------------------------------------------------------------------------
    async def poll_until(self, condition, timeout: float = 15.0):
        """Poll the inbox until condition() is truthy (mail delivery is asynchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            await self.runner.poll_once()
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not met before timeout")
            await asyncio.sleep(0.2)

    def sessions(self):
        return self.runner.services.sessions()

    def drafts(self) -> list[DraftRecord]:
        with self.sessions() as s:
            return list(s.query(DraftRecord).order_by(DraftRecord.id))

    def payload(self, draft_index: int = 0) -> dict:
        """The current version of a draft, as stored (JSON)."""
        draft = self.drafts()[draft_index]
        with self.sessions() as s:
            return repo.version_row(s, draft.id, draft.version).payload

    def emails(self) -> list[EmailRecord]:
        with self.sessions() as s:
            return list(s.query(EmailRecord).order_by(EmailRecord.id))

    def audit(self, action: str | None = None) -> list[AuditEvent]:
        with self.sessions() as s:
            q = s.query(AuditEvent).order_by(AuditEvent.id)
            if action:
                q = q.filter(AuditEvent.action == action)
            return list(q)

    def outbox(self, kind: str) -> list[OutboxMessage]:
        with self.sessions() as s:
            return list(s.query(OutboxMessage).filter(OutboxMessage.kind == kind).order_by(OutboxMessage.id))

    def erp_orders(self) -> list[dict]:
        response = httpx.get(f"{self.erp.url}/api/orders", params={"limit": 1000})
        response.raise_for_status()
        body = response.json()
        return body["items"] if isinstance(body, dict) else body

    def set_erp_faults(self, **faults) -> None:
        httpx.post(f"{self.erp.url}/_faults", json=faults).raise_for_status()
