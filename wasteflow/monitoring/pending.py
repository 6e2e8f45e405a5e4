"""What the live detector still has to examine: the devices that reported, the manifests late data
touched, and the ones held back after a failure — never lost, and never retried in a hot loop.

Thread-safe: the bridge's writer adds work while the detector's thread takes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

Span = tuple[datetime, datetime]

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0


@dataclass
class Work:
    """Devices with the event-time span of their new readings, and manifests to look at again."""

    devices: dict[str, Span] = field(default_factory=dict)
    manifests: set[str] = field(default_factory=set)

    def add(self, other: Work) -> None:
        for device_id, span in other.devices.items():
            old = self.devices.get(device_id)
            self.devices[device_id] = (min(span[0], old[0]), max(span[1], old[1])) if old else span
        self.manifests |= other.manifests

    def units(self) -> Iterator[tuple[str, Work]]:
        """One piece of work per device and per manifest, each with its key."""
        for device_id, span in self.devices.items():
            yield f"device:{device_id}", Work(devices={device_id: span})
        for manifest_no in sorted(self.manifests):
            yield f"manifest:{manifest_no}", Work(manifests={manifest_no})

    def __bool__(self) -> bool:
        return bool(self.devices or self.manifests)


@dataclass
class Held:
    work: Work
    attempts: int
    due: float  # on the detector's monotonic clock


class Pending:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fresh = Work()
        self._held: dict[str, Held] = {}
        self._attempts: dict[str, int] = {}  # failed attempts of held work taken for a retry

    def add(self, work: Work) -> None:
        """New work; a piece that is held back joins the held one (and waits with it)."""
        with self._lock:
            for key, unit in work.units():
                target = self._held[key].work if key in self._held else self._fresh
                target.add(unit)

    def take(self, now: float) -> Work:
        """Everything fresh, and the held work whose retry is due."""
        with self._lock:
            taken, self._fresh = self._fresh, Work()
            for key in [k for k, held in self._held.items() if held.due <= now]:
                held = self._held.pop(key)
                self._attempts[key] = held.attempts
                taken.add(held.work)
            return taken

    def put_back(self, work: Work) -> None:
        """Work that could not run for a passing reason (the database): again at the next turn."""
        with self._lock:
            self._fresh.add(work)
            for key, _ in work.units():
                self._attempts.pop(key, None)

    def hold(self, key: str, work: Work, now: float) -> tuple[int, float]:
        """Work that failed: held back, each failure doubling the wait. Returns (attempts, delay)."""
        with self._lock:
            attempts = self._attempts.pop(key, 0) + 1
            late = Work()
            for fresh_key, unit in list(self._fresh.units()):  # notified meanwhile: held along with it
                if fresh_key == key:
                    late.add(unit)
                    self._fresh.devices.pop(next(iter(unit.devices), ""), None)
                    self._fresh.manifests -= unit.manifests
            held = Work()
            held.add(work)
            held.add(late)
            delay = min(RETRY_FIRST_S * 2 ** (attempts - 1), RETRY_MAX_S)
            self._held[key] = Held(held, attempts, now + delay)
            return attempts, delay

    def release(self, keys: Iterable[str]) -> None:
        """Work done: its next failure waits the shortest delay again."""
        with self._lock:
            for key in keys:
                self._attempts.pop(key, None)

    def snapshot(self) -> Work:
        """Everything still to examine: fresh and held."""
        with self._lock:
            out = Work()
            out.add(self._fresh)
            for held in self._held.values():
                out.add(held.work)
            return out
