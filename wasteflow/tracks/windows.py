"""A trip's telemetry window (findings.md, "Terms": a trip's telemetry). Pure: times in, windows out.

A trip's readings are the vehicle's from 30 min before the trip starts until the earliest of its
end (the receipt or rejection ``at``), the vehicle's next dispatch on another manifest, and the
start + 48 h. So a manifest left open — a receiver who signs late, or never — does not claim the
vehicle's later trips, and no party of one manifest sees the readings of another's trip.

Built for legs: a multi-leg manifest (domain.md, up to 5 legs) has one window per started leg, each
from its own start (the dispatch, or the handover that began it) to the next handover or the
receipt, each on its own vehicle (tracks/service.py builds them from manifests.legs.leg_spans). A
single-leg manifest is one leg. One function decides for every reader:
detection, the track and the trip summary, exports, and live detection's choice of which trips
new readings concern.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

BEFORE_START = timedelta(minutes=30)
"""Readings this long before a leg starts are its own too: loading, and leaving the generator's site."""
LONGEST = timedelta(hours=48)
"""No leg claims readings later than this after its start."""


@dataclass(frozen=True)
class Leg:
    """One vehicle's part of a manifest."""

    vehicle_id: int
    start: datetime  # the dispatch, or the handover that began this leg
    end: datetime | None = None  # the next handover, the receipt or the rejection (`at`); None: not yet
    next_dispatch: datetime | None = None  # the vehicle's next dispatch (or takeover) on another manifest


@dataclass(frozen=True)
class Window:
    """The vehicle's readings with start <= ts <= end belong to the trip."""

    vehicle_id: int
    start: datetime
    end: datetime

    def contains(self, ts: datetime) -> bool:
        return self.start <= ts <= self.end

    def overlaps(self, low: datetime, high: datetime) -> bool:
        return self.start <= high and low <= self.end


def trip_windows(legs: Sequence[Leg]) -> list[Window]:
    """One window per leg, in the legs' order."""
    return [leg_window(leg) for leg in legs]


def leg_window(leg: Leg) -> Window:
    bounds = [b for b in (leg.end, leg.next_dispatch) if b is not None] + [leg.start + LONGEST]
    start = leg.start - BEFORE_START
    return Window(leg.vehicle_id, start, max(min(bounds), start))


def one_track(windows: Sequence[Window]) -> list[Window]:
    """The windows of a manifest's legs read as one track, the load's: each starts no earlier than
    the one before it ends, so two legs' vehicles never interleave (a later leg's lead-in begins at
    its handover). Detection reads a trip as one vehicle's track until it runs per leg; the track
    and the exports read the same, so every reader sees the same readings."""
    out: list[Window] = []
    for window in windows:
        start = max(window.start, out[-1].end) if out else window.start
        out.append(Window(window.vehicle_id, start, max(window.end, start)))
    return out
