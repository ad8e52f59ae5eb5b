"""Learning from corrections: a rep's SKU/unit change becomes a per-customer alias."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from mailorder.store import repo
from mailorder.store.aliases import Alias, list_aliases, upsert_alias
from mailorder.tools.catalog import normalise_alias

log = logging.getLogger(__name__)

# company_id -> normalised source text -> (sku, unit, reason)
AliasMap = dict[str, dict[str, tuple[str, str | None, str]]]


def alias_reason(taught_by: str, taught_at: datetime) -> str:
    return f"learned from {taught_by} on {taught_at.date().isoformat()}"


def learn_corrections(
    session: Session,
    now: datetime,
    *,
    customer_id: str | None,
    rep: str,
    corrections: list[tuple[str, str, str | None]],
    aliases: AliasMap | None = None,
    draft_id: int | None = None,
) -> list[Alias]:
    """Store one alias per correction (source text -> sku, unit), audit it and update `aliases`."""
    learned: list[Alias] = []
    if not customer_id:
        return learned
    for source_text, sku, unit in corrections:
        key = normalise_alias(source_text or "")
        if not key or not sku:
            continue
        alias = upsert_alias(
            session,
            now,
            customer_id=customer_id,
            source_key=key,
            source_text=source_text,
            sku=sku,
            unit=unit,
            taught_by=rep,
        )
        repo.audit(
            session,
            now,
            rep,
            "alias_learned",
            draft_id=draft_id,
            alias_id=alias.id,
            customer_id=customer_id,
            source_text=source_text,
            sku=sku,
            unit=unit,
        )
        if aliases is not None:
            aliases.setdefault(customer_id, {})[key] = (sku, unit, alias_reason(rep, now))
        learned.append(alias)
    return learned


def load_aliases(session: Session) -> AliasMap:
    result: AliasMap = {}
    for a in list_aliases(session):
        result.setdefault(a.customer_id, {})[a.source_key] = (
            a.sku,
            a.unit,
            alias_reason(a.taught_by, a.taught_at),
        )
    return result
