"""Delivery and read reports (RFC 3464 DSNs, RFC 8098 MDNs), read from raw bytes. Pure.

Only what a report's machine-readable parts say is read: the report type, and per recipient the
action ("failed", "delayed", "delivered", "relayed", "expanded"), the status code and the
addresses. Free text (the human-readable part, Diagnostic-Code) is never read: a forged report can
put anything there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_MAX_PARTS = 50  # a report has three parts; a deeper walk is not worth it
_MAX_RECIPIENTS = 100


@dataclass(frozen=True)
class RecipientStatus:
    final_recipient: str  # the address the report is about (lower case, no "rfc822;" prefix)
    original_recipient: str | None
    action: str  # lower case: failed | delayed | delivered | relayed | expanded | ""
    status: str  # e.g. "5.1.1"; "" when missing or malformed

    @property
    def permanent_failure(self) -> bool:
        return self.action == "failed" and self.status.startswith("5.")


@dataclass(frozen=True)
class Report:
    content_type: str  # "multipart/report" for a real report
    report_type: str  # "delivery-status", "disposition-notification", ... ("" when absent)
    null_return_path: bool  # Return-Path: <> (a bounce is sent with an empty envelope sender)
    recipients: list[RecipientStatus] = field(default_factory=list)

    @property
    def is_dsn(self) -> bool:
        return self.content_type == "multipart/report" and self.report_type == "delivery-status"

    @property
    def failed_recipients(self) -> list[RecipientStatus]:
        return [r for r in self.recipients if r.permanent_failure]

    def kind(self) -> str:
        """What the report says, for the audit: failed | delayed | delivered | read_receipt | other."""
        if self.report_type == "disposition-notification":
            return "read_receipt"
        if not self.is_dsn:
            return "other"
        actions = {r.action for r in self.recipients}
        if self.failed_recipients:
            return "failed"
        for action in ("delayed", "delivered", "relayed", "expanded"):
            if action in actions:
                return action
        return "other"


def read_report(raw: bytes) -> Report:
    """The machine-readable content of a report (an empty Report for anything else)."""
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # noqa: BLE001 - an unreadable message is simply no report
        return Report(content_type="", report_type="", null_return_path=False)
    content_type = message.get_content_type()
    report_type = str(message.get_param("report-type", "") or "").strip().lower()
    return_path = str(message.get("Return-Path", "") or "").strip()
    return Report(
        content_type=content_type,
        report_type=report_type,
        null_return_path=return_path in ("<>", "< >"),
        recipients=_recipients(message) if content_type == "multipart/report" else [],
    )


def _recipients(message: Message) -> list[RecipientStatus]:
    found: list[RecipientStatus] = []
    for index, part in enumerate(message.walk()):
        if index > _MAX_PARTS:
            break
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:  # per-message fields (Reporting-MTA), then one block per recipient
            if isinstance(block, Message) and block.get("Final-Recipient") and len(found) < _MAX_RECIPIENTS:
                found.append(_recipient(block))
    return found


def _recipient(block: Message) -> RecipientStatus:
    status = str(block.get("Status", "") or "").strip()
    return RecipientStatus(
        final_recipient=_address(block.get("Final-Recipient")) or "",
        original_recipient=_address(block.get("Original-Recipient")),
        action=str(block.get("Action", "") or "").strip().lower(),
        status=status if _STATUS.match(status) else "",
    )


def _address(value: object) -> str | None:
    """ "rfc822; rep@example.com" -> "rep@example.com"."""
    if not value:
        return None
    _, _, address = str(value).partition(";")
    address = (address or str(value)).strip().strip("<>").strip().lower()
    return address or None
