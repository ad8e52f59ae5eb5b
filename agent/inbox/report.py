"""What one poll did (returned by Runner.poll_once; never an exception)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PollReport:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0  # stored as failed (unusable, or never fetchable: see unfetchable)
    processed: int = 0
    errors: list[str] = field(default_factory=list)
    # UID -> error of each message the server would not return this poll (retried on later polls)
    fetch_failures: dict[int, str] = field(default_factory=dict)
    unfetchable: list[int] = field(default_factory=list)  # UIDs given up on this poll: recorded failed
