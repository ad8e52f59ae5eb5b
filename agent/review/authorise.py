"""May this reply act on this draft? Sender authentication, the signed single-use token for the
draft's current version, an open draft; an approval also needs a draft without blocking issues.
Each check returns the reason it refuses (shown to the rep), or None."""

from __future__ import annotations

import re
from datetime import timedelta

from mailorder.agent.review import wire
from mailorder.agent.review.matching import ReplyMatch
from mailorder.agent.workflow.context import Services
from mailorder.domain import Draft, ParsedEmail
from mailorder.mail import render, tokens
from mailorder.store.models import DraftRecord, DraftStatus

_AUTH_FAILED = re.compile(r"\b(dkim|spf|dmarc)=(fail|softfail)\b", re.IGNORECASE)


def allowed_reps(services: Services, draft: DraftRecord | None) -> set[str]:
    """The configured reps, plus the rep a draft is assigned to."""
    allowed = set(services.settings.reps)
    if draft is not None:
        allowed.add(draft.rep)
    return allowed


def refusal(services: Services, match: ReplyMatch, draft: DraftRecord, email: ParsedEmail) -> str | None:
    """Why this reply may not act on the draft, or None."""
    if _AUTH_FAILED.search(email.headers.get("authentication-results", "")):
        return "the message failed sender authentication (DKIM/SPF/DMARC)."
    if not match.token:
        return (
            "the reply did not go to the review address of the summary (its Reply-To), so it cannot "
            "be verified. Please use Reply on the latest summary."
        )
    try:
        claims = tokens.verify_token(
            services.settings.secret.get_secret_value(),
            match.token,
            now=services.clock(),
            max_age=timedelta(days=services.settings.token_max_age_days),
            rep=email.sender,
        )
    except tokens.InvalidToken as exc:
        return render.refusal_reason(exc.reason)
    if claims.draft_id != draft.id:
        return "the review link belongs to another draft."
    if not DraftStatus(draft.status).is_open:
        return f"draft MO-{draft.id} is already {draft.status}; nothing was changed."
    if claims.version != draft.version:
        return (
            f"this reply answers version v{claims.version}, but the current version is v{draft.version}. "
            f"Please answer the summary {wire.format_tag(draft.id, draft.version)}."
        )
    return None


def blocking_refusal(draft: DraftRecord, payload: Draft) -> str | None:
    """Why the draft's current version cannot be approved as it is, or None."""
    blocking = payload.blocking_issues
    if not blocking:
        return None
    listed = "; ".join(i.message for i in blocking)
    return f"draft MO-{draft.id} v{draft.version} cannot be posted while it has open issues: {listed}"
