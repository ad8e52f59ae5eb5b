"""`mailorder eval --autopost`: the earned-autonomy policy applied to a dataset replayed in received
order, with each customer's history taken from the replay so far (a draft that was exactly right
counts as approved without edits; a wrong one as corrected). Reports how many orders would post
by themselves and how many of those would have been wrong (unsafe auto-post: must be 0)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mailorder.agent.evaluation.scoring import Truth, score
from mailorder.agent.review.autopost import unread_attachments, unread_text
from mailorder.agent.review.autopost_policy import History, Policy, evaluate
from mailorder.agent.workflow.pipeline import Analysis
from mailorder.domain import ParsedEmail, TriageLabel


@dataclass
class _Record:
    clean: int = 0
    corrected_within: int = 0  # orders left before a correction no longer counts
    largest: dict[str, float] = field(default_factory=dict)


@dataclass
class AutopostReplay:
    policy: Policy
    truth: Truth
    customers: dict[str, _Record] = field(default_factory=dict)
    orders: int = 0
    would: int = 0
    unsafe: list[str] = field(default_factory=list)
    held_by: Counter[str] = field(default_factory=Counter)  # condition -> drafts it held back

    def see(self, email_id: str, email: ParsedEmail, analysis: Analysis, prediction: dict) -> None:
        """One email of the replay: the policy's verdict, then the customer's history updated."""
        truth = self.truth.emails.get(email_id)
        if truth is not None and truth.is_order:
            self.orders += 1
        draft = analysis.draft
        customer = analysis.customer.customer if analysis.customer.method == "contact" else None
        if analysis.triage.label != TriageLabel.ORDER or draft is None:
            return
        if customer is None:  # found by domain or not at all: never posts by itself
            self.held_by["customer"] += 1
            return
        record = self.customers.setdefault(customer.company_id, _Record())
        history = History(
            clean_approvals=record.clean,
            corrected_recently=record.corrected_within > 0,
            largest_base_qty=dict(record.largest),
        )
        verdict = evaluate(
            draft,
            policy=self.policy,
            history=history,
            unread_text=unread_text(email, draft),
            unread_attachments=unread_attachments(email, draft),
        )
        correct = self._correct(email_id, prediction)
        self.held_by.update(verdict.held_by)
        if verdict.qualifies:
            self.would += 1
            if not correct:
                self.unsafe.append(email_id)
        if correct:  # the rep approved it as drafted
            record.clean += 1
            record.corrected_within = max(0, record.corrected_within - 1)
            for line in draft.lines:
                if line.sku and line.base_qty is not None:
                    record.largest[line.sku] = max(record.largest.get(line.sku, 0.0), line.base_qty)
        else:  # the rep corrected it
            record.clean = 0
            record.corrected_within = self.policy.min_history

    def _correct(self, email_id: str, prediction: dict) -> bool:
        if email_id not in self.truth.emails:
            return False
        one = Truth(catalog=self.truth.catalog, emails={email_id: self.truth.emails[email_id]})
        row = score(one, {email_id: prediction})["per_email"][0]
        return bool(row["perfect"] and row["customer_ok"]) if row["truth_order"] else False

    def report(self) -> dict[str, object]:
        return {
            "min_history": self.policy.min_history,
            "max_total": self.policy.max_total,
            "orders": self.orders,
            "would_auto_post": self.would,
            "automation_rate": round(self.would / self.orders, 3) if self.orders else None,
            "unsafe_auto_post": len(self.unsafe),
            "unsafe_emails": self.unsafe,
            "held_by": dict(self.held_by.most_common()),
        }
