"""The typed email every other module works with (built by mail.parse from raw bytes)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Attachment(BaseModel):
    filename: str | None = None
    content_type: str = "application/octet-stream"
    size: int = 0


class ParsedEmail(BaseModel):
    message_id: str  # with angle brackets; synthesised from a content hash when missing
    subject: str = ""
    sender: str = ""  # bare lower-case address of From
    sender_name: str = ""
    to: list[str] = Field(default_factory=list)  # bare lower-case addresses
    cc: list[str] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    date: datetime | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    text: str = ""  # the text/plain part (decoded), "" when absent
    html: str = ""  # the text/html part (decoded), "" when absent
    html_text: str = ""  # the HTML part rendered to plain text
    headers: dict[str, str] = Field(default_factory=dict)  # lower-case name -> first value
    attachments: list[Attachment] = Field(default_factory=list)
    defects: list[str] = Field(default_factory=list)  # parser defects worth auditing
    size: int = 0

    @property
    def body(self) -> str:
        """Best plain text of the message: the text part, else the rendered HTML."""
        return self.text if self.text.strip() else self.html_text
