"""REDISPATCHED_BEFORE_RECEIPT (findings.md): the vehicle left on another load before this one was
received or rejected. Pure: the two manifests' times and states in, a draft (or a verdict) out.

The earlier manifest's trip ends at the new dispatch (a trip's telemetry, tracks/windows.py), so
whatever the vehicle did afterwards is not its own; this finding says why its trip was cut short.
A receipt or rejection signed with an ``at`` before the new dispatch shows the load was
delivered (or turned away) in time: the finding is then withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .model import WARNING, FindingDraft
from .track import iso

CODE = "REDISPATCHED_BEFORE_RECEIPT"
UNDER_WAY = ("dispatched", "in_transit", "arrived")


@dataclass(frozen=True)
class Dispatch:
    """A manifest as this rule sees it."""

    manifest_no: str
    plate: str
    status: str
    dispatched_at: datetime | None


def redispatched_before_receipt(earlier: Dispatch, later: Dispatch) -> FindingDraft | None:
    """The finding on `earlier` when its vehicle is dispatched on `later` while `earlier` is under way."""
    if earlier.status not in UNDER_WAY or earlier.dispatched_at is None or later.dispatched_at is None:
        return None
    if later.dispatched_at < earlier.dispatched_at:
        return None
    evidence = {"dispatched_at": iso(earlier.dispatched_at), "status": earlier.status,
                "next_manifest_no": later.manifest_no, "next_dispatched_at": iso(later.dispatched_at),
                "plate": later.plate}
    return FindingDraft(code=CODE, severity=WARNING, manifest_no=earlier.manifest_no, plate=earlier.plate,
                        window_start=earlier.dispatched_at, window_end=later.dispatched_at, location=None,
                        evidence=evidence, verified=True, episode_key=f"{CODE}:{later.manifest_no}")


def answered_in_time(signed_at: datetime, next_dispatched_at: datetime) -> bool:
    """A receipt or rejection whose ``at`` lies before the new dispatch withdraws the finding."""
    return signed_at < next_dispatched_at
