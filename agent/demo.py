"""`mailorder demo`: the whole loop on this machine, over real IMAP/SMTP/HTTP on loopback.

Starts the dev mail server, the mock ERP and the agent on free ports, mails the sample emails
into the order inbox, and plays the rep: a scripted rep approves clean drafts and rejects drafts
that cannot be posted (or, with --interactive, you decide at the terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from pathlib import Path
from typing import cast

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from mailorder.agent.config import Settings
from mailorder.agent.evaluation.dataset import default_dataset_dir, load_emails, record_to_message
from mailorder.agent.review.wire import find_block
from mailorder.agent.service import open_runner
from mailorder.mail.imap import ImapInbox
from mailorder.mail.smtp import SmtpSender
from mailorder.store import repo
from mailorder.store.models import AuditEvent, DraftStatus, EmailStatus

ORDERS, REP, PASSWORD = "orders@example.com", "rep@example.com", "dev"
MARKER = ".mailorder-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_workdir(workdir: Path) -> Path:
    if workdir.exists() and (workdir / MARKER).exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("created by mailorder demo; safe to delete\n")
    return workdir


class Truth:
    """What a careful rep would book for each sample email (the dataset's ground truth)."""

    def __init__(self, dataset: Path) -> None:
        def load(name: str) -> list[dict]:
            path = dataset / name
            return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []

        self.per_base = {
            p["sku"]: {u["unit"]: u["per_base"] for u in p["units"]} for p in load("products.json")
        }
        self.base_unit = {p["sku"]: p["base_unit"] for p in load("products.json")}
        companies = {c["id"]: c["company_id"] for c in load("companies.json")}
        contacts = {c["id"]: companies.get(c["company_id"]) for c in load("contacts.json")}
        orders = {o["id"]: o for o in load("orders.json")}
        lines: dict[int, list[dict]] = {}
        for line in load("order_lines.json"):
            lines.setdefault(line["order_id"], []).append(line)
        self.by_message_id: dict[str, dict | None] = {}
        linked = {link["email_id"]: link["order_id"] for link in load("order_emails.json")}
        for record in load_emails(dataset):
            message_id = str(record_to_message(record)["Message-ID"])
            order = orders.get(linked.get(record["email_id"], -1))
            self.by_message_id[message_id] = (
                None
                if order is None
                else {"customer": contacts.get(order["contact_id"]), "lines": lines.get(order["id"], [])}
            )

    def base_qty(self, sku: str, qty: float, unit: str | None) -> float | None:
        per = self.per_base.get(sku, {}).get(unit or self.base_unit.get(sku, ""))
        return None if per is None else qty * per

    def corrections(self, block, truth: dict) -> list[str]:
        """Reply commands that turn the drafted block into the true order."""
        want: dict[str, list] = {}
        for line in truth["lines"]:
            want.setdefault(line["sku"], [0.0, line["qty"], line["unit"]])
            want[line["sku"]][0] += self.base_qty(line["sku"], line["qty"], line["unit"]) or 0
        commands, kept = [], set()
        for n, line in sorted(block.lines.items()):
            goal = want.get(line.sku or "")
            if goal is None or line.sku in kept:
                commands.append(f"remove {n}")
                continue
            kept.add(line.sku)
            have = self.base_qty(line.sku, line.qty or 0, line.unit) if line.qty else None
            if have is None or abs(have - goal[0]) > 1e-6 * max(1.0, goal[0]):
                commands.append(f"line {n} qty {goal[1]:g} {goal[2]}")
        for sku, (_, qty, unit) in want.items():
            if sku not in kept:
                commands.append(f"add {qty:g} {unit} {sku}")
        if truth["customer"] and block.customer != truth["customer"]:
            commands.insert(0, f"customer {truth['customer']}")
        return commands


class Rep:
    """The rep's side: reads summaries from the rep's mailbox and answers them by email.

    The scripted rep checks each draft against what a careful rep would book (the dataset's
    ground truth): it approves a correct draft, corrects a wrong one by reply commands (the
    agent then sends version n+1), and rejects what it cannot book."""

    def __init__(
        self,
        inbox: ImapInbox,
        smtp: SmtpSender,
        console: Console,
        interactive: bool,
        truth: Truth | None = None,
    ) -> None:
        self.inbox, self.smtp, self.console, self.interactive = inbox, smtp, console, interactive
        self.truth = truth
        self.last_uid, self.uidvalidity = 0, cast(int | None, None)
        self.answered = 0

    async def answer_new_mail(self) -> int:
        result = await asyncio.to_thread(
            self.inbox.fetch_new, self.last_uid, self.uidvalidity, max_bytes=50_000_000
        )
        self.uidvalidity = result.uidvalidity
        replies = 0
        for fetched in result.messages:
            self.last_uid = max(self.last_uid, fetched.uid)
            message = message_from_bytes(fetched.raw, policy=policy.default)
            subject = str(message["Subject"] or "")
            if not str(message["Message-ID"] or "").strip().startswith("<mo.summary."):
                self.console.print(f"  [dim]rep inbox:[/] {subject}")
                continue
            verdict = await self._decide(message)
            if verdict is None:
                continue
            await self.smtp.send(
                self._reply(message, verdict).as_bytes(policy=policy.SMTP), REP, [self._reply_to(message)]
            )
            replies += 1
            shown = "; ".join(verdict.splitlines())
            self.console.print(f"  [cyan]rep[/] answers {subject.split(']')[0]}]: [bold]{shown[:90]}[/]")
        self.answered += replies
        return replies

    async def _decide(self, message: EmailMessage) -> str | None:
        text = _plain_text(message)
        if self.interactive:
            self.console.print(Panel(text[:4000], title=str(message["Subject"]), expand=False))
            choice = await asyncio.to_thread(
                typer.prompt,
                "APPROVE (a), REJECT (r <reason>), skip (s), or edit commands "
                "(e.g. 'line 2 qty 5; remove 3')",
                default="a",
            )
            choice = choice.strip()
            if choice.lower() in ("s", "skip"):
                return None
            if choice.lower() in ("a", "approve"):
                return "APPROVE"
            if choice.lower() == "r" or choice.lower().startswith("r "):
                return "REJECT " + (choice[1:].strip() or "rejected at the terminal")
            return "\n".join(part.strip() for part in choice.split(";"))  # edits: the agent sends v(n+1)
        block = find_block(text)
        known = self.truth.by_message_id if self.truth else {}
        original = str(message["In-Reply-To"] or "")
        if block is None or original not in known:
            return (
                "APPROVE"
                if "Unknown customer" not in str(message["Subject"])
                else "REJECT unknown sender; I will call them before booking."
            )
        truth = known[original]
        if truth is None:
            return "REJECT this is not an order; I will answer the customer myself."
        if truth["customer"] is None:
            return "REJECT unknown sender; I will call them to confirm the account first."
        commands = self.truth.corrections(block, truth) if self.truth else []
        return "\n".join(commands) if commands else "APPROVE"

    @staticmethod
    def _reply_to(message: EmailMessage) -> str:
        return getaddresses([str(message["Reply-To"] or message["From"])])[0][1]

    def _reply(self, summary: EmailMessage, verdict: str) -> EmailMessage:
        reply = EmailMessage()
        reply["From"] = REP
        reply["To"] = self._reply_to(summary)
        reply["Subject"] = "Re: " + str(summary["Subject"])
        reply["Message-ID"] = make_msgid(domain="example.com")
        reply["In-Reply-To"] = str(summary["Message-ID"])
        reply["References"] = str(summary["Message-ID"])
        quoted = "\n".join("> " + line for line in _plain_text(summary).splitlines())
        reply.set_content(
            f"{verdict}\n\nSent from my phone\n\nOn {summary['Date']}, {summary['From']} wrote:\n{quoted}\n"
        )
        return reply


async def run_demo(
    console: Console,
    *,
    workdir: Path,
    interactive: bool = False,
    keep_running: bool = False,
    limit: int = 0,
    timeout: float = 300.0,
) -> dict:
    from mailorder.mail.devserver import DevMailServer
    from mailorder.mock_erp.server import ErpServer

    workdir = _fresh_workdir(workdir.resolve())
    dataset = default_dataset_dir()
    smtp_port, imap_port, erp_port = free_port(), free_port(), free_port()
    mail_server = DevMailServer(
        workdir / "mail", smtp_port=smtp_port, imap_port=imap_port, accounts=[ORDERS, REP], password=PASSWORD
    )
    erp_server = ErpServer(dataset, f"sqlite:///{workdir / 'erp.db'}", port=erp_port)
    mail_server.start()
    erp_server.start()
    try:
        _print_services(console, smtp_port, imap_port, erp_server.url, workdir)
        records = load_emails(dataset)[: limit or None]
        smtp = SmtpSender("127.0.0.1", smtp_port)
        for record in records:
            message = record_to_message(record, to=ORDERS)
            await smtp.send(
                message.as_bytes(policy=policy.SMTP), record.get("sender") or "unknown@invalid", [ORDERS]
            )
        console.print(f"mailed [bold]{len(records)}[/] sample emails from {dataset} into {ORDERS}")

        settings = Settings(
            imap_port=imap_port,
            smtp_port=smtp_port,
            imap_user=ORDERS,
            imap_password=PASSWORD,
            from_address=ORDERS,
            erp_url=erp_server.url,
            reps=[REP],
            poll_seconds=1,
            database_url=f"sqlite:///{workdir / 'mailorder.db'}",
            secret=secrets.token_hex(16),
        )
        rep = Rep(
            ImapInbox("127.0.0.1", imap_port, REP, PASSWORD), smtp, console, interactive, Truth(dataset)
        )
        async with open_runner(settings) as runner:
            sessions = runner.services.sessions
            console.print(
                f"agent running: extraction by "
                f"{'model ' + settings.model if settings.llm_enabled else 'rules (no AI model configured)'}"
            )
            last_event, deadline, quiet = 0, time.monotonic() + timeout, 0
            while time.monotonic() < deadline:
                await runner.poll_once()
                last_event = _print_events(console, sessions, last_event)
                answered = await rep.answer_new_mail()
                await runner.poll_once()
                last_event = _print_events(console, sessions, last_event)
                quiet = quiet + 1 if (answered == 0 and _settled(sessions, len(records))) else 0
                if quiet >= 2:
                    break
                await asyncio.sleep(0.3)
            summary = _print_outcome(console, sessions, settings.database_url)
            rep.inbox.close()
        if keep_running:
            console.print("servers keep running; Ctrl-C to stop")
            with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
                await asyncio.Event().wait()
        return summary
    finally:
        erp_server.stop()
        mail_server.stop()


def _print_services(console: Console, smtp_port: int, imap_port: int, erp_url: str, workdir: Path) -> None:
    table = Table("service", "where", "accounts / notes", title="mailorder demo")
    table.add_row("SMTP", f"127.0.0.1:{smtp_port}", "no auth needed")
    table.add_row("IMAP", f"127.0.0.1:{imap_port}", f"{ORDERS} / {PASSWORD}, {REP} / {PASSWORD} (no TLS)")
    table.add_row("mock ERP", erp_url, f"{erp_url}/api/orders")
    table.add_row("work dir", str(workdir), "mail, databases, checkpoints")
    console.print(table)


def _print_events(console: Console, sessions, after: int) -> int:
    shown = {
        "ingested",
        "triaged",
        "drafted",
        "summary_sent",
        "reply_refused",
        "approved",
        "rejected",
        "posted",
        "edited",
        "confirmation_sent",
        "erp_rejected",
        "erp_unavailable",
        "failed",
        "ignored",
    }
    with sessions() as session:
        events = repo.audit_after(session, after)
        for e in events:
            if e.action in shown:
                who = f"MO-{e.draft_id}" if e.draft_id else f"email #{e.email_id}"
                detail = _detail(e)
                console.print(f"  [green]{e.action:<18}[/] {who:<10} {detail}")
        return events[-1].id if events else after


def _detail(e: AuditEvent) -> str:
    d = e.details or {}
    if e.action == "ingested":
        return f"{d.get('sender')}: {str(d.get('subject'))[:60]}"
    if e.action == "triaged":
        return f"{d.get('label')} ({d.get('reason', '')[:60]})"
    if e.action == "drafted":
        issues = d.get("issues") or []
        return (
            f"{d.get('customer') or 'unknown customer'}, {d.get('lines')} lines, EUR {d.get('total', 0):.2f}"
            + (f", {len(issues)} issue(s)" if issues else "")
        )
    if e.action == "edited":
        return f"v{d.get('version')}: " + "; ".join(d.get("changes") or [])[:100]
    if e.action == "summary_sent":
        return f"v{d.get('version')} to {', '.join(d.get('to') or [])}"
    if e.action == "posted":
        return f"ERP order {d.get('erp_order_id')}"
    if e.action in ("rejected", "reply_refused"):
        return str(d.get("reason") or d.get("why") or "")[:80]
    return ""


def _settled(sessions, expected_emails: int) -> bool:
    with sessions() as session:
        emails = repo.count_emails(session, not_status=EmailStatus.REPLY)
        pending = repo.count_emails(session, status=EmailStatus.RECEIVED)
        open_drafts = repo.count_drafts(
            session, [DraftStatus.AWAITING_REVIEW, DraftStatus.APPROVED, DraftStatus.POSTED]
        )
        outbox = len(repo.pending_outbox(session))
    return emails >= expected_emails and pending == 0 and open_drafts == 0 and outbox == 0


def _print_outcome(console: Console, sessions, database_url: str) -> dict:
    table = Table("draft", "status", "customer", "lines", "ERP order", "subject", title="outcome")
    counts: dict[str, int] = {}
    with sessions() as session:
        for d in repo.list_drafts(session, limit=None, oldest_first=True):
            email = repo.get_email(session, d.email_id)
            payload = repo.version_row(session, d.id, d.version).payload
            table.add_row(
                f"MO-{d.id} v{d.version}",
                d.status,
                d.customer_id or "unknown",
                str(len(payload.get("lines", []))),
                d.erp_order_id or "",
                email.subject[:48] if email else "",
            )
            counts[d.status] = counts.get(d.status, 0) + 1
        labels = repo.emails_by_label(session)
    console.print(table)
    console.print("emails by triage: " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))
    console.print("drafts by status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    console.print("inspect the queue and the audit trail:")
    console.print(f"  export MAILORDER_DATABASE_URL={database_url}", soft_wrap=True, highlight=False)
    console.print(
        "  .venv/bin/mailorder orders list; .venv/bin/mailorder orders show MO-1; .venv/bin/mailorder stats",
        soft_wrap=True,
        highlight=False,
    )
    return {"drafts": counts, "emails": labels}


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""
