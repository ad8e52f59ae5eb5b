"""Build the EmailMessage objects the agent sends (pure; the SMTP outbox sends them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from mailorder.mail.render import RenderedMail

AGENT_HEADER = "X-Mailorder"  # our signed mark (mail.tokens.agent_mark), set by the outbox
MAX_REFERENCES = 20  # keep the first id (thread root) and the most recent ones
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f"\\/]+')  # a file name never breaks its header


@dataclass(frozen=True)
class FileAttachment:
    """A file a message carries (e.g. the customer's purchase order in the rep's summary)."""

    filename: str
    content_type: str  # maintype/subtype
    data: bytes


def make_message_id(kind: str, *parts: object, domain: str) -> str:
    """Deterministic Message-ID, e.g. make_message_id("summary", 12, "v1", domain=…) →
    <mo.summary.12.v1@example.com>."""
    pieces = [_UNSAFE_ID_CHARS.sub("-", str(p)).strip("-") or "x" for p in (kind, *parts)]
    return f"<mo.{'.'.join(pieces)}@{domain.strip().lower()}>"


def build_message(
    rendered: RenderedMail,
    *,
    from_addr: str,
    to: list[str],
    reply_to: str | None = None,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: bool = True,
    extra_headers: dict[str, str] | None = None,
    cc: Sequence[str] = (),
    date: datetime | None = None,
    attachments: Sequence[FileAttachment] = (),
) -> EmailMessage:
    """multipart/alternative (text + html) with threading and agent-marker headers; with
    `attachments`, multipart/mixed with the files after the text.

    `date` defaults to now (UTC); pass it in for deterministic output.
    """
    message = EmailMessage()
    message["From"] = from_addr
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = " ".join(rendered.subject.split())  # no header injection via CR/LF
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    thread = thread_references(references, in_reply_to)
    if thread:
        message["References"] = " ".join(thread)
    if auto_submitted:
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"  # no out-of-office replies to the agent
    for name, value in (extra_headers or {}).items():
        if name in message:
            del message[name]
        message[name] = " ".join(str(value).split())
    message.set_content(rendered.text)
    if rendered.html:
        message.add_alternative(rendered.html, subtype="html")
    for file in attachments:
        maintype, _, subtype = file.content_type.partition("/")
        if not (maintype and subtype):
            maintype, subtype = "application", "octet-stream"
        name = " ".join(_UNSAFE_NAME_CHARS.sub(" ", file.filename).split()) or "attachment"
        message.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=name)
    return message


def thread_references(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    """Original's References + the message replied to, without duplicates, truncated."""
    chain = list(dict.fromkeys([r for r in references if r] + ([in_reply_to] if in_reply_to else [])))
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    return chain
