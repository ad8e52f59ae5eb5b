"""Apply a rep's edit operations to a draft version: re-validate and re-price through draft_order."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailorder.agent.extract.attachments import without_file_source
from mailorder.domain import PICK_LETTERS, Candidate, CustomerMatch, Draft, EditOp, Extraction, LineRequest
from mailorder.mail.render import plain_qty
from mailorder.tools.toolbox import Toolbox
from mailorder.tools.units import canonical_unit


@dataclass
class EditResult:
    draft: Draft
    changes: list[str] = field(default_factory=list)  # the change log shown to the rep
    errors: list[str] = field(default_factory=list)  # operations that could not be applied
    corrections: list[tuple[str, str, str | None]] = field(default_factory=list)  # (source text, sku, unit)


def _describe(line: LineRequest) -> str:
    return f"{plain_qty(line.qty)} {line.unit or ''} {line.sku or '?'}".replace("  ", " ")


async def apply_edits(draft: Draft, ops: list[EditOp], toolbox: Toolbox) -> EditResult:
    lines = [
        LineRequest(
            sku=ln.sku,
            qty=ln.qty,
            unit=ln.unit,
            source_text=ln.source_text,
            reference=ln.reference,
            confidence=ln.confidence,
            candidates=ln.candidates,
        )
        for ln in draft.lines
    ]
    removed: set[int] = set()
    choices = [ln.alternatives() for ln in draft.lines]  # the lettered choices the summary offered
    result = EditResult(draft=draft)
    customer = CustomerMatch(
        customer=draft.customer,
        method="contact" if draft.customer else "none",
        confidence=1.0 if draft.customer else 0.0,
    )
    reference, delivery, comment = draft.reference, draft.delivery_date, draft.comment

    for op in ops:
        if op.op in _LINE_OPS:
            if op.line is None or not 1 <= op.line <= len(lines):
                result.errors.append(f"line {op.line} does not exist (the draft has {len(lines)} lines)")
                continue
            offered = choices[op.line - 1] if op.line <= len(choices) else []
            error = _apply_to_line(op, op.line, lines[op.line - 1], result, removed, offered)
        elif op.op == "add":
            error = _add_line(op, lines, result)
        elif op.op == "customer":
            found = await toolbox.erp.get_customer(op.value) if op.value else None
            if found is None:
                result.errors.append(f"customer {op.value} is not in the ERP")
                continue
            before = customer.customer.company_id if customer.customer else "unknown"
            customer = CustomerMatch(customer=found, method="rep", confidence=1.0)
            result.changes.append(
                f"customer {before} → {found.company_id} {found.company_name or ''}".rstrip()
            )
            error = None
        elif op.op == "reference":
            result.changes.append(f"reference {reference or '-'} → {op.value}")
            reference, error = op.value, None
        elif op.op == "delivery":
            if op.day is None:
                error = "delivery needs a date (YYYY-MM-DD)"
            else:
                result.changes.append(
                    f"delivery {delivery.isoformat() if delivery else '-'} → {op.day.isoformat()}"
                )
                delivery, error = op.day, None
        else:  # note
            comment = f"{comment}\n{op.value}" if comment else op.value
            result.changes.append(f"note added: {op.value}")
            error = None
        if error:
            result.errors.append(error)

    kept = [ln for n, ln in enumerate(lines, 1) if n not in removed]
    extraction = Extraction(
        lines=kept,
        reference=reference,
        delivery_date=delivery,
        comment=comment,
        method=draft.extraction_method,
        prompt_version=draft.prompt_version,
    )
    result.draft = await toolbox.check_stock(toolbox.draft_order(extraction, customer))  # as v1 had
    return result


_LINE_OPS = ("qty", "unit", "sku", "pick", "remove")


def _apply_to_line(
    op: EditOp,
    number: int,
    line: LineRequest,
    result: EditResult,
    removed: set[int],
    offered: list[Candidate],
) -> str | None:
    """Apply one line operation in place; the reason it cannot be applied, or None."""
    if op.op == "qty":
        if op.qty is None:
            return f"line {number}: no quantity given"
        before = _describe(line)
        line.qty = op.qty
        if op.unit:
            line.unit = canonical_unit(op.unit) or op.unit
        _confirmed(line)
        result.changes.append(f"line {number}: qty {before} → {_describe(line)}")
    elif op.op == "unit":
        if not op.unit:
            return f"line {number}: no unit given"
        unit_before = line.unit
        line.unit = canonical_unit(op.unit) or op.unit
        _confirmed(line)
        result.changes.append(f"line {number}: unit {unit_before or '?'} → {line.unit}")
        result.corrections.append((without_file_source(line.source_text), line.sku or "", line.unit))
    elif op.op in ("sku", "pick"):
        if op.op == "pick":
            index = PICK_LETTERS.find((op.value or "?").lower())
            if not 0 <= index < len(offered):
                listed = ", ".join(f"{number}{PICK_LETTERS[i]}" for i in range(len(offered))) or "none"
                return f"line {number}: there is no choice {number}{op.value} (offered: {listed})"
            op = op.model_copy(update={"sku": offered[index].sku})
        if not op.sku:
            return f"line {number}: no SKU given"
        sku_before = line.sku
        line.sku = op.sku
        _confirmed(line)
        result.changes.append(f"line {number}: SKU {sku_before or '?'} → {op.sku}")
        result.corrections.append((without_file_source(line.source_text), op.sku, line.unit))
    else:  # remove
        removed.add(number)
        result.changes.append(f"line {number} removed ({_describe(line)})")
    return None


def _add_line(op: EditOp, lines: list[LineRequest], result: EditResult) -> str | None:
    if not op.sku or op.qty is None:
        return "add needs a SKU and a quantity"
    added = LineRequest(
        sku=op.sku,
        qty=op.qty,
        unit=canonical_unit(op.unit) if op.unit else None,
        source_text="added by the rep",
        confidence=1.0,
    )
    lines.append(added)
    result.changes.append(f"added: {_describe(added)}")
    return None


def _confirmed(line: LineRequest) -> None:
    """A line the rep set explicitly is no longer a guess."""
    line.confidence = 1.0
    line.candidates = []
