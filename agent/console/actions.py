"""Acting from the console (POST, CSRF-checked; roles rep and admin): approve, reject with a
reason, pick a lettered alternative, edit with the reply grammar ("line 2 qty 5", "remove 3");
an admin removes a learned alias. Decisions go through agent.review.console_actions, the same
ReviewDecision a reply by email makes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mailorder.agent.console import views
from mailorder.agent.console.auth import CurrentUser
from mailorder.agent.console.deps import redirect, require_actor, require_admin, set_flash, state
from mailorder.agent.review.console_actions import ConsoleRequest, ConsoleResult, act
from mailorder.domain import PICK_LETTERS, DecisionKind, EditOp
from mailorder.mail.commands import parse_commands
from mailorder.store import repo
from mailorder.store.aliases import remove_alias
from mailorder.store.console import utc

log = logging.getLogger(__name__)
router = APIRouter()


async def _decide(
    request: Request,
    ref: str,
    user: CurrentUser,
    kind: DecisionKind,
    version: int,
    round_: int,
    *,
    reason: str | None = None,
    ops: list[EditOp] | None = None,
) -> Response:
    draft_id = views.draft_ref(ref)
    target = f"/drafts/MO-{draft_id}" if draft_id is not None else "/drafts"
    if draft_id is None:
        return redirect(target)
    console = state(request)
    try:
        runner = await console.workflow.runner()
        result = await act(
            runner.services,
            runner.graph,
            ConsoleRequest(
                draft_id=draft_id,
                version=version,
                round=round_,
                user=user.email,
                role=user.role,
                kind=kind,
                reason=reason,
                ops=ops or [],
            ),
        )
    except Exception:
        log.exception("console decision on MO-%s failed", draft_id)
        result = ConsoleResult(
            "refused",
            "the decision could not be carried out (see the log); the audit trail shows how far it got",
        )
    response = redirect(target)
    set_flash(request, response, "ok" if result.outcome == "accepted" else "error", result.message)
    return response


@router.post("/drafts/{ref}/approve")
async def approve(
    request: Request,
    ref: str,
    version: int = Form(...),
    round_: int = Form(..., alias="round"),
    user: CurrentUser = Depends(require_actor),
) -> Response:
    return await _decide(request, ref, user, "approve", version, round_)


@router.post("/drafts/{ref}/reject")
async def reject(
    request: Request,
    ref: str,
    version: int = Form(...),
    round_: int = Form(..., alias="round"),
    reason: str = Form("", max_length=2000),
    user: CurrentUser = Depends(require_actor),
) -> Response:
    return await _decide(request, ref, user, "reject", version, round_, reason=reason)


@router.post("/drafts/{ref}/pick")
async def pick(
    request: Request,
    ref: str,
    version: int = Form(...),
    round_: int = Form(..., alias="round"),
    line: int = Form(..., ge=1, le=999),
    letter: str = Form(..., max_length=1),
    user: CurrentUser = Depends(require_actor),
) -> Response:
    """Pick a lettered alternative of a line (the reply `1b`): a new version with that product."""
    if letter.lower() not in PICK_LETTERS:
        letter = "?"
    ops = [EditOp(op="pick", line=line, value=letter.lower())]
    return await _decide(request, ref, user, "edit", version, round_, ops=ops)


@router.post("/drafts/{ref}/edit")
async def edit(
    request: Request,
    ref: str,
    version: int = Form(...),
    round_: int = Form(..., alias="round"),
    commands: str = Form("", max_length=5000),
    user: CurrentUser = Depends(require_actor),
) -> Response:
    """Edits in the reply grammar, one per line; text that is no command is refused, not guessed."""
    ops, rest = parse_commands(commands)
    if rest or not ops:
        target = f"/drafts/{ref}" if views.draft_ref(ref) is not None else "/drafts"
        response = redirect(target)
        shown = "; ".join(rest)[:200]
        set_flash(
            request,
            response,
            "error",
            f"not understood as edits: {shown}; nothing was changed" if rest else "no edit was given",
        )
        return response
    return await _decide(request, ref, user, "edit", version, round_, ops=ops)


@router.post("/aliases/{alias_id}/remove")
def alias_remove(request: Request, alias_id: int, user: CurrentUser = Depends(require_admin)) -> Response:
    """Delete one learned alias (audited with the admin); `serve` stops using it at its next start."""
    console = state(request)
    response = redirect("/aliases")
    with console.sessions.begin() as session:
        alias = remove_alias(session, alias_id)
        if alias is not None:
            repo.audit(
                session,
                utc(console.clock()),
                user.email,
                "alias_removed",
                alias_id=alias_id,
                customer_id=alias.customer_id,
                source_text=alias.source_text,
                sku=alias.sku,
                via="console",
            )
    if alias is None:
        set_flash(request, response, "error", f"there is no alias {alias_id}")
    else:
        set_flash(request, response, "ok", f"alias {alias_id} removed ({alias.source_text} → {alias.sku})")
    return response
