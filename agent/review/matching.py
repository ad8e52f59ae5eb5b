"""Which draft a reply answers: the token in the review plus-address first, then In-Reply-To /
References against the summaries we sent, then the subject tag. When the token and the thread
name different drafts the match says so (`thread_draft_id`): such a reply changes nothing.
A match says nothing about whether the reply may act (agent.review.authorise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mailorder.agent.review import wire
from mailorder.agent.workflow.context import Services
from mailorder.domain import ParsedEmail
from mailorder.mail import tokens
from mailorder.store import repo

MatchedVia = Literal["token", "in-reply-to", "subject", "none"]


@dataclass(frozen=True)
class ReplyMatch:
    draft_id: int | None
    version: int | None
    token: str | None
    via: MatchedVia
    thread_draft_id: int | None = None  # the draft the thread points to, when it is not the token's

    @property
    def disagrees(self) -> bool:
        return self.thread_draft_id is not None


NO_MATCH = ReplyMatch(None, None, None, "none")


def match_reply(services: Services, email: ParsedEmail) -> ReplyMatch:
    token = tokens.token_from_email(email, services.agent_address)
    thread = _thread_match(services, email)
    if token:
        named = _peek(token)
        draft_id = named[0] if named else None
        other = thread.draft_id if thread.draft_id not in (None, draft_id) else None
        return ReplyMatch(draft_id, named[1] if named else None, token, "token", thread_draft_id=other)
    return thread


def _thread_match(services: Services, email: ParsedEmail) -> ReplyMatch:
    """The draft the thread points to: the summary it answers, else the subject tag."""
    refs = [r for r in [email.in_reply_to, *email.references] if r]
    with services.sessions() as session:
        for row in repo.outbox_by_message_ids(session, refs):
            if row.kind == "summary" and row.draft_id is not None:
                return ReplyMatch(row.draft_id, row.version, None, "in-reply-to")
    tag = wire.find_tag(email.subject)
    if tag:
        return ReplyMatch(tag[0], tag[1], None, "subject")
    return NO_MATCH


def looks_like_reply(services: Services, email: ParsedEmail) -> bool:
    """True when the message answers one of our summaries (and so must never become an order)."""
    return match_reply(services, email).via != "none"


def _peek(token: str) -> tuple[int, int] | None:
    """Draft id and version named by a token, before (and regardless of) verification."""
    try:
        return tokens.peek_token(token)
    except Exception:  # noqa: BLE001 - a malformed token simply names no draft
        return None
