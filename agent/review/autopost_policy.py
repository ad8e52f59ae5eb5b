"""Earned autonomy: whether a draft may post itself after a veto window (pure).

Off by default. A draft qualifies only when every condition holds, each one checked and named:
a known customer (by sender address, not domain), no issue of any kind, every product matched by
an explicit article code or by this customer's learned aliases with high confidence, every
quantity within the customer's usual range (at most 3x its largest earlier quantity of that
product), stock confirmed by the ERP, the total under the limit, no free text the
rules did not understand, no attachment that was not fully read, and enough history: this
customer's last orders approved without edits, none corrected or held.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mailorder.domain import Draft, DraftLine
from mailorder.mail import phrases

HIGH_CONFIDENCE = 0.95
QTY_FACTOR = 3.0  # a quantity above 3x the customer's largest earlier one is unusual
_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Policy:
    enabled: bool = False
    customers: frozenset[str] = frozenset()  # company ids, or {"*"}
    excluded: frozenset[str] = frozenset()  # switched off by an admin (wins over "*")
    min_history: int = 5  # earlier drafts approved without edits, none corrected among the last ones
    max_total: float = 2500.0  # EUR
    window_seconds: float = 1800.0

    def covers(self, company_id: str) -> bool:
        if not self.enabled or company_id in self.excluded:
            return False
        return "*" in self.customers or company_id in self.customers


@dataclass(frozen=True)
class History:
    """What this customer's earlier drafts say (from the store)."""

    clean_approvals: int = 0  # approved without any edit, most recent streak
    corrected_recently: bool = False  # among the last min_history: an edit, a HOLD, or a correction
    largest_base_qty: Mapping[str, float] = field(default_factory=dict)  # sku -> largest base qty ordered


@dataclass(frozen=True)
class Verdict:
    qualifies: bool
    reasons: list[str]  # why it qualifies (shown to the rep, audited)
    failures: list[str]  # the conditions that did not hold (audited)
    held_by: list[str] = field(default_factory=list)  # their names ("issue", "stock", ...), for counting


def evaluate(
    draft: Draft,
    *,
    policy: Policy,
    history: History,
    unread_text: Sequence[str] = (),
    unread_attachments: Sequence[str] = (),
    learned_skus: Mapping[str, str] | None = None,
) -> Verdict:
    """The policy's verdict on one draft. `unread_text`: lines of the customer's new text no order
    line came from and that are not greetings or signatures; `unread_attachments`: files not fully
    read; `learned_skus`: this customer's learned aliases (source text -> sku)."""
    reasons: list[str] = []
    failures: list[str] = []
    held_by: list[str] = []

    def check(ok: bool, reason: str, failure: str, name: str = "") -> None:
        (reasons if ok else failures).append(reason if ok else failure)
        if not ok:
            held_by.append(name)

    customer = draft.customer
    if customer is None:
        return Verdict(False, [], ["customer unknown"], ["customer"])
    if not policy.covers(customer.company_id):
        return Verdict(False, [], [f"automatic posting is off for {customer.company_id}"], ["off"])
    check(True, phrases.REASON_CUSTOMER % {"customer": customer.company_id}, "")
    check(not draft.issues, phrases.REASON_NO_ISSUE, f"{len(draft.issues)} open issue(s)", "issue")
    check(bool(draft.lines), phrases.REASON_LINES % {"n": len(draft.lines)}, "no lines", "lines")
    learned = set((learned_skus or {}).values())
    unsure = [n for n, line in enumerate(draft.lines, 1) if not _certain(line, learned)]
    check(
        not unsure,
        phrases.REASON_PRODUCTS,
        "not certain: line " + ", ".join(map(str, unsure)),
        "product",
    )
    unusual = [n for n, line in enumerate(draft.lines, 1) if not _usual_qty(line, history, policy)]
    check(
        not unusual,
        phrases.REASON_QUANTITIES % {"factor": f"{QTY_FACTOR:g}"},
        "unusual quantity: line " + ", ".join(map(str, unusual)),
        "quantity",
    )
    unknown = [n for n, line in enumerate(draft.lines, 1) if line.available is None]
    short = [n for n, line in enumerate(draft.lines, 1) if n not in unknown and not _in_stock(line)]
    check(
        not unknown and not short,
        phrases.REASON_STOCK,
        "not enough stock: line " + ", ".join(map(str, short))
        if short
        else "stock unknown: line " + ", ".join(map(str, unknown)),
        "stock",
    )
    check(
        draft.total <= policy.max_total,
        phrases.REASON_TOTAL % {"total": f"{draft.total:.2f}", "limit": f"{policy.max_total:.2f}"},
        f"total {draft.total:.2f} above the limit {policy.max_total:.2f}",
        "total",
    )
    check(
        not unread_text,
        phrases.REASON_TEXT,
        "text not understood: " + "; ".join(line[:60] for line in unread_text[:3]),
        "text",
    )
    check(
        not unread_attachments,
        phrases.REASON_ATTACHMENTS,
        "attachment not fully read: " + ", ".join(unread_attachments[:3]),
        "attachment",
    )
    check(
        history.clean_approvals >= policy.min_history and not history.corrected_recently,
        phrases.REASON_HISTORY % {"n": history.clean_approvals},
        (
            "an earlier order was corrected or held"
            if history.corrected_recently
            else f"{history.clean_approvals} of {policy.min_history} earlier orders approved without edits"
        ),
        "history",
    )
    return Verdict(not failures, reasons if not failures else [], failures, held_by)


def _certain(line: DraftLine, learned: set[str]) -> bool:
    """The product is the one written (its code in the line's text) or taught by a rep."""
    if not line.sku or line.qty is None or line.confidence < HIGH_CONFIDENCE:
        return False
    written = _DIGITS.sub("", line.sku) in _DIGITS.sub("", line.source_text)
    return written or line.sku in learned


def _usual_qty(line: DraftLine, history: History, policy: Policy) -> bool:
    """Within 3x the largest earlier quantity; a product never ordered before has no usual range
    (allowed only when the policy asks for no history at all)."""
    if line.base_qty is None:
        return False
    largest = history.largest_base_qty.get(line.sku or "")
    if largest is None:
        return policy.min_history == 0
    return line.base_qty <= QTY_FACTOR * largest


def _in_stock(line: DraftLine) -> bool:
    return line.available is not None and line.base_qty is not None and line.base_qty <= line.available
