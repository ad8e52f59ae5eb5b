"""Which inbound messages the agent must never treat as a customer email (pure).

Ignored (recorded, never triaged, never answered):
- our own mail: its X-Mailorder header holds our signed mark for its Message-ID (mail.tokens.
  agent_mark); a header anyone could add, or our address in From, proves nothing;
- bounces and delivery reports: multipart/report (delivery status, read receipts), a
  message/delivery-status part, MAILER-DAEMON / postmaster senders, X-Failed-Recipients,
  a null Return-Path;
- mail loops: an X-Loop header naming us, or an automatic message (Auto-Submitted, X-Autoreply,
  an Exchange inbox-rule forward, Precedence, auto-reply subjects) answering one of our own
  messages (its In-Reply-To / References hold one of our Message-IDs, its subject carries our
  [MO-n vN] tag, or it was sent to one of our review plus-addresses).

Other auto-replies and newsletters go on to triage, which labels them auto_reply / marketing;
the agent never answers customers except with a confirmation after a rep's approval, so they
cannot start a loop.
"""

from __future__ import annotations

import re

from mailorder.agent.review.wire import find_tag
from mailorder.domain import ParsedEmail
from mailorder.mail.tokens import is_agent_mark

_BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@", "mail-daemon@", "mailerdaemon@")
_REPORT_TYPES = ("delivery-status", "disposition-notification", "feedback-report")
_AUTO_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
# vendor marks of auto-replies and of messages an inbox rule forwarded/redirected (Exchange)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-ms-exchange-inbox-rules-loop")
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|out of (?:the )?office|"
    r"automatisch(?:e)? (?:antwoord|reply)|afwezig|abwesenheit|automatische antwort|"
    r"r[ée]ponse automatique|absence|undeliver(?:ed|able)|delivery status notification|"
    r"mail delivery (?:failed|failure)|returned mail|niet bezorgd|onbestelbaar)",
    re.I,
)


def ignore_reason(email: ParsedEmail, agent_address: str, secret: str | None = None) -> str | None:
    """Why this message is ignored, or None when it goes on to triage / reply handling. Without
    the secret no message is recognised as our own."""
    agent_address = agent_address.strip().lower()
    if secret and is_agent_mark(secret, email.message_id, email.headers.get("x-mailorder", "")):
        return "sent by mailorder itself (signed X-Mailorder mark)"
    for rule in (_delivery_report, _mail_loop):
        reason = rule(email, agent_address)
        if reason is not None:
            return reason
    return None


# ---- rules -----------------------------------------------------------------------------------


def is_delivery_report(email: ParsedEmail) -> bool:
    """A bounce or delivery/read report (it may return one of our own messages)."""
    return _delivery_report(email, "") is not None


def _delivery_report(email: ParsedEmail, agent_address: str) -> str | None:
    content_type = email.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/report"):
        kind = next((t for t in _REPORT_TYPES if t in content_type), "report")
        return f"delivery report (multipart/report; {kind})"
    if any(
        a.content_type in ("message/delivery-status", "message/disposition-notification")
        for a in email.attachments
    ):
        return "delivery report (delivery-status part)"
    if email.sender.startswith(_BOUNCE_SENDERS):
        return "bounce from a mail server (MAILER-DAEMON / postmaster)"
    if email.headers.get("x-failed-recipients"):
        return "bounce (X-Failed-Recipients)"
    if "return-path" in email.headers and email.headers["return-path"].strip() in ("<>", ""):
        return "bounce (null Return-Path)"
    return None


def _mail_loop(email: ParsedEmail, agent_address: str) -> str | None:
    if agent_address in email.headers.get("x-loop", "").lower():
        return "mail loop (X-Loop names the agent)"
    if not is_automatic(email):
        return None
    if any(is_our_message_id(ref, agent_address) for ref in [email.in_reply_to, *email.references] if ref):
        return "automatic reply to our own mail (mail loop)"
    if find_tag(email.subject) is not None:
        return "automatic message about one of our summaries (mail loop)"
    addressed = [
        *email.to,
        *email.cc,
        email.headers.get("delivered-to", "").strip().lower(),
        email.headers.get("x-original-to", "").strip().lower(),
    ]
    if any(a != agent_address and is_agent_address(a, agent_address) for a in addressed if a):
        return "automatic reply to a review address (mail loop)"
    return None


# ---- helpers (pure, reusable) ----------------------------------------------------------------


def is_agent_address(address: str, agent_address: str) -> bool:
    """The agent address itself or one of its plus-addresses (orders+token@domain)."""
    address, agent_address = address.strip().lower(), agent_address.strip().lower()
    local, _, domain = agent_address.partition("@")
    return address == agent_address or (address.startswith(local + "+") and address.endswith("@" + domain))


def is_our_message_id(message_id: str, agent_address: str) -> bool:
    """Message-IDs the agent makes: <mo.kind.parts@agent-domain> (mail.compose.make_message_id)."""
    domain = agent_address.partition("@")[2].strip().lower()
    value = message_id.strip().lower()
    return value.startswith("<mo.") and value.endswith("@" + domain + ">")


def is_automatic(email: ParsedEmail) -> bool:
    """Machine-sent: RFC 3834 Auto-Submitted, vendor auto-reply / rule-forward headers, bulk
    precedence, or an auto-reply subject."""
    headers = email.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if any(name in headers for name in _AUTO_HEADERS):
        return True
    if headers.get("precedence", "").strip().lower() in _AUTO_PRECEDENCE:
        return True
    return bool(_AUTO_SUBJECT.search(email.subject or ""))
