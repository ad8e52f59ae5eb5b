"""What one poll did (returned by Runner.poll_once; never an exception)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PollReport:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    processed: int = 0
    errors: list[str] = field(default_factory=list)
