"""Crash recovery at start-up: resume the threads of open drafts that a crash stopped between
steps (not those waiting for a rep), and decisions that were claimed but not yet applied. A
thread a live worker holds is left to it."""

from __future__ import annotations

import logging

from mailorder.agent.inbox.claims import Claims
from mailorder.agent.review.replies import resume_claimed_replies
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.graph import OrderGraph, run_thread, thread_config
from mailorder.store import repo

log = logging.getLogger(__name__)


async def recover(services: Services, graph: OrderGraph, claims: Claims) -> int:
    """Resume interrupted threads and claimed-but-unapplied replies; returns how many."""
    async with claims.heartbeat():
        return await _recover_threads(services, graph, claims) + await _recover_replies(
            services, graph, claims
        )


async def _recover_threads(services: Services, graph: OrderGraph, claims: Claims) -> int:
    with services.sessions() as session:
        email_ids = repo.open_thread_email_ids(session)
    resumed = 0
    for email_id in email_ids:
        snapshot = await graph.aget_state(thread_config(email_id))
        if not snapshot.next or snapshot.interrupts:
            continue  # finished, or waiting for a rep
        if not claims.claim(email_id, pending_only=False):
            continue  # a live worker is running this thread right now
        try:
            snapshot = await graph.aget_state(thread_config(email_id))
            if not snapshot.next or snapshot.interrupts:
                continue  # finished or parked meanwhile
            log.info("resuming interrupted thread for email %s at %s", email_id, snapshot.next)
            with services.sessions.begin() as session:
                repo.audit(
                    session,
                    services.clock(),
                    "agent",
                    "thread_resumed",
                    email_id=email_id,
                    at=list(snapshot.next),
                )
            await run_thread(graph, services, email_id, None)
            resumed += 1
        finally:
            claims.release(email_id)
    return resumed


async def _recover_replies(services: Services, graph: OrderGraph, claims: Claims) -> int:
    """Claimed-but-unapplied replies, resumed only while no live worker holds their threads."""
    with services.sessions() as session:
        thread_ids = repo.threads_with_unapplied_replies(session)
    held = [i for i in thread_ids if claims.claim(i, pending_only=False)]
    try:
        if len(held) < len(thread_ids):
            log.info("replies of %d threads are being applied by another worker", len(thread_ids) - len(held))
            return 0
        return await resume_claimed_replies(services, graph)
    finally:
        for email_id in held:
            claims.release(email_id)
