"""Which inbound messages the agent must never treat as a customer email (pure).

Our own mail, bounces and delivery reports are recorded and ignored: never triaged, never
answered. (Auto-replies and newsletters are triaged and labelled; the agent never answers
customers except with a confirmation after a rep's approval, so they cannot start a loop.)
"""
from __future__ import annotations

from mail.message import ParsedEmail


def ignore_reason(email: ParsedEmail, agent_address: str) -> str | None:
    """Why this message is ignored, or None when it goes on to triage / reply handling."""
    local, _, domain = agent_address.partition("@")
    if email.headers.get("x-mailorder"):
        return "sent by mailorder itself"
    if email.sender == agent_address or (email.sender.startswith(local + "+") and email.sender.endswith("@" + domain)):
        return "sent from the agent's own address"
    content_type = email.headers.get("content-type", "").lower()
    if "report-type=delivery-status" in content_type or email.sender.startswith(("mailer-daemon@", "postmaster@")):
        return "delivery status notification"
    return None
