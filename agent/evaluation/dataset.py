"""Dataset emails (interchange format of the eval README) as real MIME messages."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from importlib import resources
from pathlib import Path
from typing import Any

INPUT_FIELDS = (
    "email_id",
    "subject",
    "sender",
    "recipients",
    "cc",
    "bcc",
    "received_date",
    "body_text",
    "body_html",
    "has_attachments",
    "receiving_email",
)


def default_dataset_dir() -> Path:
    return Path(str(resources.files("mailorder.data")))


def load_emails(dataset_dir: Path) -> list[dict[str, Any]]:
    """The dataset's emails in received order, reduced to the input fields."""
    records = json.loads((Path(dataset_dir) / "emails.json").read_text(encoding="utf-8"))
    records.sort(key=lambda r: r.get("received_date") or "")
    return [{k: r.get(k) for k in INPUT_FIELDS} for r in records]


def received_at(record: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(record["received_date"])
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def record_to_message(record: dict[str, Any], *, to: str | None = None) -> EmailMessage:
    """multipart/alternative with the record's text and HTML bodies and its headers."""

    def addresses(value) -> str:
        return ", ".join(value) if isinstance(value, list) else str(value)

    message = EmailMessage()
    message["From"] = record.get("sender") or "unknown@invalid"
    message["To"] = to or addresses(
        record.get("recipients") or record.get("receiving_email") or "orders@example.com"
    )
    if record.get("cc"):
        message["Cc"] = addresses(record["cc"])
    message["Subject"] = record.get("subject") or ""
    if record.get("received_date"):
        message["Date"] = format_datetime(received_at(record))
    digest = hashlib.sha256(str(record.get("email_id")).encode()).hexdigest()[:24]
    message["Message-ID"] = f"<{digest}@dataset.mailorder.invalid>"
    text, html = record.get("body_text") or "", record.get("body_html") or ""
    message.set_content(text or " ", cte="quoted-printable")
    if html:
        message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message
