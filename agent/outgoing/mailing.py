"""The emails the agent sends, composed from stored state and sent through the outbox; and what
follows when one of them comes back (agent.outgoing.bounces decides, this module sends)."""

from __future__ import annotations

import logging

from mailorder.agent.config import Settings
from mailorder.agent.extract import attachments
from mailorder.agent.outgoing import bounces, outbox
from mailorder.agent.outgoing.outbox import Returned
from mailorder.agent.review import wire
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import load_draft, parsed_email
from mailorder.domain import AttachmentNote, Draft, ParsedEmail
from mailorder.mail import compose, i18n, render, tokens
from mailorder.mail.i18n import Language
from mailorder.mail.reports import read_report
from mailorder.store import repo

log = logging.getLogger(__name__)


def rep_language(settings: Settings, rep: str) -> Language:
    """The language a rep reads: MAILORDER_REPS rep@example.com:nl, else MAILORDER_LANGUAGE."""
    return i18n.language(settings.rep_language(rep))


def _autopost_at(services: Services, draft: Draft, version: int, rep: str) -> str | None:
    """When the announced automatic post happens, in the rep's language and time zone."""
    if draft.autopost is None or version != 1:
        return None
    return i18n.moment(
        draft.autopost.due_at, rep_language(services.settings, rep), services.settings.timezone
    )


def review_address(services: Services, draft_id: int, version: int, rep: str) -> str:
    """The plus-address carrying a fresh reply token for (draft, version, rep)."""
    secret = services.settings.secret.get_secret_value()
    token = tokens.make_token(secret, draft_id, version, rep, services.clock())
    return tokens.plus_address(services.agent_address, token)


async def send_summary(
    services: Services,
    *,
    email_id: int,
    draft_id: int,
    version: int,
    draft: Draft,
    original: ParsedEmail,
    rep: str,
    changes: list[str] | None = None,
    hints=None,
    key: str | None = None,
) -> None:
    """The review email for one version; `key` makes a second summary of the same version (to
    another rep) a message of its own."""
    reply_address = review_address(services, draft_id, version, rep)
    files, notes = await _order_files(services, draft, original)
    rendered = render.render_summary(
        render.SummaryContext(
            draft_id=draft_id,
            version=version,
            tag=wire.format_tag(draft_id, version),
            edit_block=wire.format_block(draft_id, version, draft),
            draft=draft,
            original=original,
            rep=rep,
            reply_address=reply_address,
            agent_address=services.agent_address,
            changes=changes or [],
            customer_hints=hints or [],
            language=rep_language(services.settings, rep),
            autopost_at=_autopost_at(services, draft, version, rep),
            attachments=notes,
            attached_files=[file.filename for file in files],
        )
    )
    message = compose.build_message(
        rendered,
        from_addr=services.agent_address,
        to=[rep],
        reply_to=reply_address,
        message_id=compose.make_message_id(
            "summary", draft_id, f"v{version}", *([key] if key else []), domain=services.mail_domain
        ),
        in_reply_to=original.message_id,
        references=original.references,
        date=services.clock(),
        attachments=files,
    )
    await outbox.send(
        services,
        message,
        kind="summary",
        draft_id=draft_id,
        version=version,
        email_id=email_id,
        on_returned=returned_handler(services, email_id),
    )


async def _order_files(
    services: Services, draft: Draft, original: ParsedEmail
) -> tuple[list[compose.FileAttachment], list[AttachmentNote]]:
    """The customer's order files a summary carries (within MAILORDER_SUMMARY_ATTACHMENT_BYTES) and
    what became of each (a later version re-reads them: edits make the draft anew)."""
    if not attachments.order_files(original):
        return [], []
    try:
        files, _ = attachments.summary_files(original, services.settings.summary_attachment_bytes)
        notes = draft.attachments
        if not notes:
            readings = await attachments.read_attachments_async(original)
            notes, _ = attachments.attachment_report(readings, [line.source_text for line in draft.lines])
    except Exception:  # the summary goes out without the files rather than not at all
        log.warning("order files of %s not added to the summary", original.message_id, exc_info=True)
        return [], []
    return files, notes


def confirmation_address(draft: Draft, original: ParsedEmail) -> str:
    """The customer's contact address from the master data (the sender when it matched a contact),
    never a Reply-To a stranger could have set."""
    if draft.customer is not None and draft.customer.contact_email:
        return draft.customer.contact_email.lower()
    return original.sender


async def send_confirmation(
    services: Services,
    *,
    email_id: int,
    draft_id: int,
    version: int,
    draft: Draft,
    original: ParsedEmail,
    erp_order_id: str,
) -> None:
    rendered = render.render_confirmation(
        render.ConfirmationContext(
            draft=draft, original=original, erp_order_id=erp_order_id, agent_address=services.agent_address
        )
    )
    recipient = confirmation_address(draft, original)
    message = compose.build_message(
        rendered,
        from_addr=services.agent_address,
        to=[recipient],
        message_id=compose.make_message_id("confirmation", draft_id, domain=services.mail_domain),
        in_reply_to=original.message_id,
        references=original.references,
        date=services.clock(),
    )
    await outbox.send(
        services,
        message,
        kind="confirmation",
        draft_id=draft_id,
        version=version,
        email_id=email_id,
        on_returned=returned_handler(services, email_id),
    )


async def send_notice(
    services: Services,
    kind: render.NoticeKind,
    *,
    to: str,
    key: str,
    draft_id: int,
    version: int,
    in_reply_to: ParsedEmail | None = None,
    with_review_address: bool = False,
    **fields,
) -> None:
    """A short note to a rep (never to an unknown sender). `key` makes the Message-ID unique per cause."""
    reply_address = review_address(services, draft_id, version, to) if with_review_address else None
    if fields.get("current_version") is not None:
        fields["current_tag"] = wire.format_tag(draft_id, fields["current_version"])
    rendered = render.render_notice(
        kind,
        render.NoticeContext(
            draft_id=draft_id,
            version=version,
            tag=wire.format_tag(draft_id, version),
            rep=to,
            language=rep_language(services.settings, to),
            reply_address=reply_address,
            **fields,
        ),
    )
    message = compose.build_message(
        rendered,
        from_addr=services.agent_address,
        to=[to],
        reply_to=reply_address,
        message_id=compose.make_message_id(f"notice-{kind}", key, domain=services.mail_domain),
        in_reply_to=in_reply_to.message_id if in_reply_to else None,
        references=in_reply_to.references if in_reply_to else (),
        date=services.clock(),
    )
    await outbox.send(
        services,
        message,
        kind=f"notice_{kind}",
        draft_id=draft_id,
        version=version,
        on_returned=returned_handler(services, None),
    )


async def resend_summary(services: Services, draft_id: int, *, rep: str, key: str) -> None:
    """The current version's summary again, to `rep` (e.g. after the first rep's copy bounced)."""
    record, draft = load_draft(services, draft_id)
    with services.sessions() as session:
        changes = list(repo.version_row(session, record.id, record.version).changes or [])
    await send_summary(
        services,
        email_id=record.email_id,
        draft_id=record.id,
        version=record.version,
        draft=draft,
        original=parsed_email(services, record.email_id),
        rep=rep,
        changes=changes,
        key=key,
    )


def returned_handler(services: Services, email_id: int | None) -> outbox.OnReturned:
    """What the outbox calls when the SMTP server refuses one of our messages for good."""

    async def on_returned(message: Returned, reason: str, outbox_id: int) -> None:
        await message_returned(
            services, message, reason=reason, key=f"refused-{outbox_id}", email_id=email_id, how="refused"
        )

    return on_returned


async def message_returned(
    services: Services, message: Returned, *, reason: str, key: str, email_id: int | None, how: str
) -> None:
    """Hand the purpose of a message that came back to a person; `key` makes the follow-up's Message-ID."""
    follow_up = bounces.record_return(services, message, reason=reason, email_id=email_id, how=how)
    if isinstance(follow_up, bounces.ResendSummary):
        await resend_summary(services, follow_up.draft_id, rep=follow_up.rep, key=key)
    elif isinstance(follow_up, bounces.SummaryUndeliverable):
        await send_notice(
            services,
            "undeliverable",
            to=follow_up.rep,
            key=f"{key}-undeliverable",
            draft_id=follow_up.draft_id,
            version=follow_up.version,
            reason=follow_up.reason,
            with_review_address=True,
        )
    elif isinstance(follow_up, bounces.TellRep):
        await send_notice(
            services,
            "bounced",
            to=follow_up.rep,
            key=key,
            draft_id=follow_up.draft_id,
            version=follow_up.version,
            customer_name=follow_up.customer_name,
            erp_order_id=follow_up.erp_order_id,
            reason=follow_up.reason,
        )


async def handle_bounce(services: Services, email_id: int, raw: bytes) -> int:
    """Act on a delivery report for our own mail; returns how many of our messages it returned."""
    report = read_report(raw)
    doubt = bounces.bounce_verdict(report)
    returned = bounces.matching(bounces.returned_messages(services, raw), report) if doubt is None else []
    if doubt is None and not returned:
        doubt = "no message of ours was sent to the failed recipient"
    if doubt is not None:
        with services.sessions.begin() as session:
            repo.audit(
                session,
                services.clock(),
                "agent",
                "delivery_report_ignored",
                email_id=email_id,
                report=report.kind(),
                why=doubt,
            )
        return 0
    reason = bounces.bounce_reason(report)
    for message in returned:
        key = f"bounce-{email_id}" if message.kind == "summary" else f"bounce-{email_id}-{message.draft_id}"
        await message_returned(services, message, reason=reason, key=key, email_id=email_id, how="bounced")
    return len(returned)
