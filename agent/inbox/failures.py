"""Poison messages: an email whose processing keeps failing is retried on later polls, and after
MAX_ATTEMPTS it is failed (visible, audited, moved to the failed folder) instead of looping."""

from __future__ import annotations

import asyncio
import logging

from mailorder.agent.workflow.context import Services
from mailorder.mail.imap import FAILED_FOLDER, ImapInbox
from mailorder.store import repo
from mailorder.store.models import EmailStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # processing errors before an email is failed instead of retried


async def record_processing_error(
    services: Services, inbox: ImapInbox, email_id: int, exc: BaseException
) -> bool:
    """Audit one failed attempt; True when the email was failed for good now."""
    now = services.clock()
    with services.sessions.begin() as session:
        repo.audit(session, now, "agent", "processing_error", email_id=email_id, error=repr(exc))
        attempts = repo.count_audit(session, email_id=email_id, action="processing_error")
        record = repo.get_email(session, email_id)
        if record is None or attempts < MAX_ATTEMPTS or record.status != EmailStatus.RECEIVED:
            return False
        repo.set_email_status(session, email_id, EmailStatus.FAILED, error=repr(exc))
        repo.audit(
            session,
            now,
            "agent",
            "failed",
            email_id=email_id,
            error=repr(exc),
            attempts=attempts,
            moved_to=FAILED_FOLDER,
        )
        uid = record.uid
    if uid is not None:
        try:
            await asyncio.to_thread(inbox.move, [uid], FAILED_FOLDER)
        except Exception:
            log.warning("could not move email %s to %s", email_id, FAILED_FOLDER, exc_info=True)
    return True
