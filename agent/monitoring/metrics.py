"""Prometheus metrics of `mailorder serve` (prometheus-client, one registry per process).

Two kinds, and how to aggregate them over several workers:

- **process** series count what this worker did since it started: polls, emails it stored and
  ran, ERP requests, model calls and tokens, the claims it holds. Sum them over workers.
- **store** series are read from the shared database by a custom collector (cached for
  `STORE_CACHE_SECONDS`, so scrapes of N workers cost N small queries every few seconds):
  emails by class, drafts by state, the outbox, claimed emails and the two latencies
  (email → summary, summary → rep's decision). Every worker reports the same figures: take
  `max` over workers, never `sum`. They survive restarts (they are counted from the store).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.models import DraftStatus, EmailStatus, OutboxStatus

log = logging.getLogger(__name__)

STORE_CACHE_SECONDS = 5.0
# email received -> summary sent to the rep: seconds to minutes (model, ERP, SMTP)
SUMMARY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
# summary sent -> rep's APPROVE/REJECT: minutes to days
DECISION_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)
ERP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
EVENT_PAGE = 5000  # audit events read per query while catching up
EVENT_PAGES_PER_SCRAPE = 20  # a huge history is caught up over several scrapes


class Metrics:
    """The process's metrics; the store collector is added with `watch_store`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.info = Info("mailorder", "This worker: version, extraction method, prompt version", registry=r)
        self.polls = Counter("mailorder_polls", "Polls of the inbox this process ran", registry=r)
        self.poll_errors = Counter(
            "mailorder_poll_errors", "Errors reported by polls (ingest, emails, outbox)", registry=r
        )
        self.emails_stored = Counter(
            "mailorder_emails_stored",
            "Emails this process fetched and stored (new, not duplicates)",
            registry=r,
        )
        self.emails_run = Counter(
            "mailorder_email_steps",
            "Emails this process sorted, ran or answered (steps completed)",
            registry=r,
        )
        self.erp_requests = Counter(
            "mailorder_erp_requests",
            "HTTP requests to the ERP by outcome (ok, client_error, server_error, timeout, connection_error)",
            ["outcome"],
            registry=r,
        )
        self.erp_seconds = Histogram(
            "mailorder_erp_request_seconds", "Duration of ERP HTTP requests", buckets=ERP_BUCKETS, registry=r
        )
        self.model_calls = Counter(
            "mailorder_model_calls",
            "Model requests by purpose (extract, edit) and outcome (ok, failed; edit: ok, empty)",
            ["purpose", "outcome"],
            registry=r,
        )
        self.model_tokens = Counter(
            "mailorder_model_tokens",
            "Model tokens by purpose and kind (prompt, completion)",
            ["purpose", "kind"],
            registry=r,
        )
        self.claims_held = Gauge(
            "mailorder_claims_held", "Emails this process holds a claim on now", registry=r
        )
        self.draining = Gauge("mailorder_draining", "1 while this process shuts down", registry=r)
        for outcome in ("ok", "client_error", "server_error", "timeout", "connection_error"):
            self.erp_requests.labels(outcome)  # present (0) before the first request
        for purpose, outcome in (("extract", "ok"), ("extract", "failed"), ("edit", "ok"), ("edit", "empty")):
            self.model_calls.labels(purpose, outcome)
        for kind in ("prompt", "completion"):
            self.model_tokens.labels("extract", kind)
        self.store: StoreCollector | None = None

    def watch_store(
        self, sessions: sessionmaker[Session], cache_seconds: float = STORE_CACHE_SECONDS
    ) -> None:
        self.store = StoreCollector(sessions, cache_seconds)
        self.registry.register(self.store)

    def watch_claims(self, held: Callable[[], int]) -> None:
        self.claims_held.set_function(lambda: float(held()))

    def model_observer(self, purpose: str) -> Callable[..., None]:
        """A CallObserver (agent.extract.ratelimit) counting into these metrics."""

        def observe(outcome: str, *, calls: int, prompt_tokens: int, completion_tokens: int) -> None:
            self.model_calls.labels(purpose, outcome).inc(calls)
            self.model_tokens.labels(purpose, "prompt").inc(prompt_tokens)
            self.model_tokens.labels(purpose, "completion").inc(completion_tokens)

        return observe

    def exposition(self) -> bytes:
        """The Prometheus text format (runs the store collector: call it from a worker thread)."""
        return generate_latest(self.registry)


class _Buckets:
    """A histogram's counts, built up from observations (cumulative only when exported)."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        value = max(0.0, value)
        index = next((i for i, b in enumerate(self.bounds) if value <= b), len(self.bounds))
        self.counts[index] += 1
        self.sum += value

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative, total = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            cumulative.append(("+Inf" if bound == float("inf") else _number(bound), float(total)))
        return HistogramMetricFamily(name, documentation, buckets=cumulative, sum_value=self.sum)


class StoreCollector(Collector):
    """Figures read from the store at most every `cache_seconds` (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], cache_seconds: float = STORE_CACHE_SECONDS) -> None:
        self.sessions, self.cache_seconds = sessions, cache_seconds
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._at = float("-inf")
        self._after_event = 0  # audit events up to this id are in the latency histograms
        self._to_summary = _Buckets(SUMMARY_BUCKETS)
        self._to_decision = _Buckets(DECISION_BUCKETS)
        self._errors = 0

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if time.monotonic() - self._at >= self.cache_seconds:
                try:
                    self._families = self._read()
                except Exception:
                    log.warning("reading store metrics failed", exc_info=True)
                    self._errors += 1
                self._at = time.monotonic()
            errors = CounterMetricFamily(
                "mailorder_store_scrape_errors", "Failed reads of the store for metrics", value=self._errors
            )
            return [*self._families, errors]

    def _read(self) -> list[Metric]:
        with self.sessions() as session:
            by_class = repo.processed_emails_by_class(session)
            emails, drafts, outbox = repo.count_by_status(session)
            claimed = repo.count_claimed_emails(session)
            autopost = plans.plans_by_status(session)
            self._catch_up_latencies(session)
        emails_total = CounterMetricFamily(
            "mailorder_emails",
            "Emails processed (all workers) by class: triage label, else status (failed, ignored, reply)",
            labels=["class"],
        )
        for name, count in sorted(by_class.items()):
            emails_total.add_metric([name], count)
        pending = GaugeMetricFamily(
            "mailorder_emails_pending",
            "Emails stored and not yet processed (all workers)",
            value=emails.get(EmailStatus.RECEIVED, 0),
        )
        drafts_family = GaugeMetricFamily(
            "mailorder_drafts", "Drafts by state (all workers)", labels=["state"]
        )
        for state in DraftStatus:
            drafts_family.add_metric([state.value], drafts.get(state.value, 0))
        outbox_pending = GaugeMetricFamily(
            "mailorder_outbox_pending",
            "Outgoing mail waiting to be (re)sent",
            value=outbox.get(OutboxStatus.PENDING, 0),
        )
        outbox_failed = GaugeMetricFamily(
            "mailorder_outbox_failed", "Outgoing mail given up on", value=outbox.get(OutboxStatus.FAILED, 0)
        )
        claimed_family = GaugeMetricFamily(
            "mailorder_emails_claimed", "Emails claimed by some worker now (all workers)", value=claimed
        )
        autopost_family = GaugeMetricFamily(
            "mailorder_autopost_plans",
            "Drafts announced to post by themselves, by outcome (posted, held, superseded by an edit, "
            "corrected after posting, cancelled, scheduled)",
            labels=["status"],
        )
        for status in plans.PlanStatus:
            autopost_family.add_metric([status.value], autopost.get(status.value, 0))
        return [
            emails_total,
            pending,
            autopost_family,
            drafts_family,
            outbox_pending,
            outbox_failed,
            claimed_family,
            self._to_summary.family(
                "mailorder_email_to_summary_seconds", "From an order email's ingest to its first summary sent"
            ),
            self._to_decision.family(
                "mailorder_summary_to_decision_seconds",
                "From a draft's first summary to the rep's APPROVE/REJECT",
            ),
        ]

    def _catch_up_latencies(self, session: Session) -> None:
        """Observe the latencies completed by audit events written since the last read."""
        for _ in range(EVENT_PAGES_PER_SCRAPE):
            events = repo.latency_events_after(session, self._after_event, EVENT_PAGE)
            if not events:
                return
            self._observe(session, events)
            self._after_event = events[-1][0]
            if len(events) < EVENT_PAGE:
                return

    def _observe(
        self, session: Session, events: list[tuple[int, str, int | None, int | None, datetime]]
    ) -> None:
        after = self._after_event
        summarised = sorted(
            {d for _, action, _, d, _ in events if action == "summary_sent" and d is not None}
        )
        decided = sorted(
            {d for _, action, _, d, _ in events if action in ("approved", "rejected") and d is not None}
        )
        first_summary = repo.first_events(session, "summary_sent", sorted(set(summarised) | set(decided)))
        ingested = repo.ingested_at_of_drafts(session, summarised)
        for draft_id in summarised:
            event_id, sent_at = first_summary[draft_id]
            if event_id > after and draft_id in ingested:  # the draft's first summary is new
                self._to_summary.observe((sent_at - ingested[draft_id]).total_seconds())
        approvals = repo.first_events(session, "approved", decided)
        rejections = repo.first_events(session, "rejected", decided)
        for draft_id in decided:
            first = min(
                (e for e in (approvals.get(draft_id), rejections.get(draft_id)) if e is not None),
                key=lambda e: e[0],
            )
            if first[0] > after and draft_id in first_summary:  # the draft's first decision is new
                self._to_decision.observe((first[1] - first_summary[draft_id][1]).total_seconds())


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
