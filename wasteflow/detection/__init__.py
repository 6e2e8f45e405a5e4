"""Detection: pure functions from trip data to finding drafts (findings.md)."""

from .model import (
    FindingDraft,
    Fix,
    LoadReading,
    Place,
    Stop,
    Thresholds,
    Ticket,
    Trip,
    TripLeg,
)
from .pipeline import (
    capacity_exceeded,
    carry_episode_keys,
    detect_live,
    loaded_window,
    overdue,
    overdue_deadline,
    reconcile,
    trip_phase,
)
from .places import PlaceIndex
from .stops import find_stops
from .tolerance import tolerance_kg

__all__ = [
    "Fix", "FindingDraft", "LoadReading", "Place", "PlaceIndex", "Stop", "Thresholds", "Ticket",
    "Trip", "TripLeg", "capacity_exceeded", "carry_episode_keys", "detect_live", "find_stops",
    "loaded_window", "overdue", "overdue_deadline", "reconcile", "tolerance_kg", "trip_phase",
]
