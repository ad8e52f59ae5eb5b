"""Sort a stored message: ignored (our own mail, delivery reports, mail loops; a report that
returns one of our messages is acted on first), a rep's reply, or customer mail that starts a
thread of the order workflow. Only mail from an allowed rep can be a review reply: a customer's
follow-up carrying our subject tag, or mail to orders+something@, is customer mail like any other."""

from __future__ import annotations

from typing import Literal

from mailorder.agent.inbox.screening import ignore_reason, is_delivery_report
from mailorder.agent.outgoing import mailing
from mailorder.agent.review.matching import looks_like_reply
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import parsed_email
from mailorder.store import repo
from mailorder.store.models import EmailStatus

Sorted = Literal["ignored", "reply", "thread"]


async def sort_email(services: Services, email_id: int) -> Sorted:
    email = parsed_email(services, email_id)
    reason = ignore_reason(email, services.agent_address, services.settings.secret.get_secret_value())
    if reason is not None:
        if is_delivery_report(email):  # never answered, but a returned summary must not wait silently
            with services.sessions() as session:
                raw = repo.email_raw(session, email_id)
            await mailing.handle_bounce(services, email_id, raw)
        with services.sessions.begin() as session:
            repo.set_email_status(session, email_id, EmailStatus.IGNORED)
            repo.audit(session, services.clock(), "agent", "ignored", email_id=email_id, reason=reason)
        return "ignored"
    if email.sender in services.settings.reps and looks_like_reply(services, email):
        return "reply"
    return "thread"  # everything else is customer mail: triaged and drafted, never a review
