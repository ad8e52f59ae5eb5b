"""Dataset emails (interchange format of the eval README) as real MIME messages.

Our own extension of the format: an email record may carry order files beside the JSON,
`"attachments": [{"filename": "PO-7781.pdf", "content_type": "application/pdf",
"path": "attachments/PO-7781.pdf"}]` (path relative to the dataset folder); they are attached to
the MIME message, so `mailorder eval` and the demo read them through the production path.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
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
    "attachments",  # our extension: order files beside the JSON
)


def default_dataset_dir() -> Path:
    return Path(str(resources.files("mailorder.data")))


def load_emails(dataset_dir: Path) -> list[dict[str, Any]]:
    """The dataset's emails in received order, reduced to the input fields (attachment paths
    made absolute, so `record_to_message` finds them from anywhere)."""
    records = json.loads((Path(dataset_dir) / "emails.json").read_text(encoding="utf-8"))
    records.sort(key=lambda r: r.get("received_date") or "")
    reduced = [{k: r.get(k) for k in INPUT_FIELDS} for r in records]
    for record in reduced:
        if record.get("attachments"):
            record["attachments"] = [
                {**a, "path": str(attachment_path(a, dataset_dir))} for a in record["attachments"]
            ]
        else:
            record.pop("attachments", None)
    return reduced


def attachment_path(attachment: dict[str, Any], dataset_dir: Path | None) -> Path:
    """Where an attachment's file is: its `path` (relative to the dataset folder), which must stay
    inside the dataset folder."""
    raw = attachment.get("path")
    if not raw:
        raise ValueError(f"attachment {attachment.get('filename')!r} has no path")
    path = Path(raw)
    if path.is_absolute() or dataset_dir is None:
        return path
    base = Path(dataset_dir).resolve()
    resolved = (base / path).resolve()
    if not resolved.is_relative_to(base):
        raise ValueError(f"attachment path {raw!r} leaves the dataset folder {base}")
    return resolved


def received_at(record: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(record["received_date"])
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def record_to_message(
    record: dict[str, Any], *, to: str | None = None, dataset_dir: Path | None = None
) -> EmailMessage:
    """multipart/alternative with the record's text and HTML bodies and its headers; with
    `attachments`, multipart/mixed with the files (paths relative to `dataset_dir`)."""

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
    for attachment in record.get("attachments") or []:
        path = attachment_path(attachment, dataset_dir)
        filename = attachment.get("filename") or path.name
        content_type = attachment.get("content_type") or (
            mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
    return message
