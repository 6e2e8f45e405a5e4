"""When a failed delivery is tried again (api.md): exponential backoff from a configurable base,
doubling, at most an hour apart, for 24 hours from the event; pure."""

from __future__ import annotations

from datetime import datetime, timedelta


def retry_delay_s(attempts: int, base_s: float, max_interval_s: float) -> float:
    """The wait after the ``attempts``-th failed attempt (1: ``base_s``, 2: twice that, ...)."""
    return min(base_s * 2 ** max(attempts - 1, 0), max_interval_s)


def next_attempt(created_at: datetime, attempts: int, failed_at: datetime, *, base_s: float, max_interval_s: float,
                 window_s: float) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None: the retry window is over."""
    due = failed_at + timedelta(seconds=retry_delay_s(attempts, base_s, max_interval_s))
    return due if due <= created_at + timedelta(seconds=window_s) else None
