"""Failure injection for the mock ERP: latency, random 500s, forced statuses, "fail the next N"."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "MOCK_ERP_"


class Faults(BaseModel):
    """What the mock ERP should do wrong. Latency hits every /api call; errors hit submit-order;
    inventory_status fails the inventory endpoints (stock unknown to the agent)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt fault must not be silently ignored

    latency_ms: float = Field(default=0, ge=0)
    error_rate: float = Field(default=0, ge=0, le=1)  # share of submit-order calls answered 500
    force_status: int | None = Field(default=None, ge=400, le=599)  # every submit gets this status
    fail_next: int = Field(default=0, ge=0)  # the next N submit-order calls answer 500
    retry_after_s: float | None = Field(default=None, ge=0)  # Retry-After header on injected errors
    inventory_status: int | None = Field(default=None, ge=400, le=599)  # every inventory call gets this
    seed: int = 0  # seed of the error_rate RNG

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Faults:
        """Read MOCK_ERP_LATENCY_MS, _ERROR_RATE, _FORCE_STATUS, _FAIL_NEXT, _RETRY_AFTER_S,
        _INVENTORY_STATUS, _SEED."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        return cls.model_validate(values)


class FaultInjector:
    """Thread-safe run-time holder of the current Faults; decides the fate of each submit call."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._rng = random.Random(self._faults.seed)

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults.model_copy()

    def update(self, changes: Mapping[str, object]) -> Faults:
        """Merge a partial update (validated); a new seed restarts the RNG."""
        with self._lock:
            merged = Faults.model_validate({**self._faults.model_dump(), **changes})
            if "seed" in changes:
                self._rng = random.Random(merged.seed)
            self._faults = merged
            return merged.model_copy()

    def reset(self) -> Faults:
        """Back to no faults at all."""
        with self._lock:
            self._faults = Faults()
            self._rng = random.Random(self._faults.seed)
            return self._faults.model_copy()

    def latency_seconds(self) -> float:
        with self._lock:
            return self._faults.latency_ms / 1000.0

    def inventory_error_status(self) -> int | None:
        """The HTTP status to answer an inventory call with, or None to proceed normally."""
        with self._lock:
            return self._faults.inventory_status

    def submit_error_status(self) -> int | None:
        """The HTTP status to inject for this submit-order call, or None to proceed normally."""
        with self._lock:
            f = self._faults
            if f.force_status is not None:
                return f.force_status
            if f.fail_next > 0:
                self._faults = f.model_copy(update={"fail_next": f.fail_next - 1})
                return 500
            if f.error_rate > 0 and self._rng.random() < f.error_rate:
                return 500
            return None
