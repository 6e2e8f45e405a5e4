"""Entry points: data in, finding drafts out. No I/O, no clock except the one passed in.

`detect_live` runs the live rules over everything known so far; `reconcile` adds the
reconciliation rules. Both are pure and idempotent: the same trip gives the same drafts with
the same episode keys, so the caller upserts by (manifest_no, code, episode_key) and
withdraws stored episodes whose key is no longer produced (e.g. a GPS gap filled by late
fixes).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np

from .context import TripContext
from .geo import covers_lonlat, representative_lonlat
from .legs import run_legs
from .live_rules import LIVE_RULES
from .model import WARNING, FindingDraft, Place, Thresholds, Trip
from .places import PlaceIndex
from .reconciliation import RECONCILIATION_RULES, TRACK_RULES
from .rule import RuleRun, run_rules
from .track import Track, iso

DEFAULT_THRESHOLDS = Thresholds()


def run_live(trip: Trip, places: PlaceIndex | None, th: Thresholds = DEFAULT_THRESHOLDS) -> RuleRun:
    """The live rules, each guarded: drafts, and the codes of any rule that failed. A multi-leg
    load runs them over each leg as its own trip (:mod:`.legs`)."""
    if trip.legs:
        return run_legs(trip, places, th, LIVE_RULES)
    return run_rules(LIVE_RULES, TripContext(trip, places, th))


def run_reconciliation(trip: Trip, places: PlaceIndex | None, th: Thresholds = DEFAULT_THRESHOLDS) -> RuleRun:
    """The live and the reconciliation rules, each guarded (per leg for a multi-leg load)."""
    if trip.legs:
        return run_legs(trip, places, th, LIVE_RULES + TRACK_RULES, reconcile=True)
    return run_rules(LIVE_RULES + RECONCILIATION_RULES, TripContext(trip, places, th))


def detect_live(trip: Trip, places: PlaceIndex | None, th: Thresholds = DEFAULT_THRESHOLDS) -> list[FindingDraft]:
    """ROUTE_DEVIATION, UNAUTHORIZED_STOP, LOAD_DROP, DIVERSION, RESTRICTED_ZONE_ENTRY, IMPOSSIBLE_JUMP."""
    return run_live(trip, places, th).drafts


def reconcile(trip: Trip, places: PlaceIndex | None, th: Thresholds = DEFAULT_THRESHOLDS) -> list[FindingDraft]:
    """The live codes plus GPS_GAP, NO_TRACK, NEVER_ARRIVED, TONNAGE_*, *_MISMATCH, MISSING_TICKET."""
    return run_reconciliation(trip, places, th).drafts


def overdue_deadline(trip: Trip, th: Thresholds = DEFAULT_THRESHOLDS) -> datetime | None:
    if trip.dispatched_at is None:
        return None
    if trip.planned_arrival is not None:
        return trip.planned_arrival + timedelta(seconds=th.overdue_after_planned_s)
    return trip.dispatched_at + timedelta(seconds=th.overdue_default_s)


def overdue(trip: Trip, now: datetime, th: Thresholds = DEFAULT_THRESHOLDS) -> FindingDraft | None:
    """OVERDUE once `now` reaches the deadline without a receipt signed before it."""
    deadline = overdue_deadline(trip, th)
    if deadline is None:
        return None
    if trip.received_at is not None and trip.received_at < deadline:
        return None
    if trip.received_at is None and now < deadline:
        return None
    end = trip.received_at if trip.received_at is not None else max(now, deadline)
    last_fix = max(trip.fixes, key=lambda f: (f.ts, f.seq), default=None)
    evidence = {
        "deadline": iso(deadline),
        "dispatched_at": iso(trip.dispatched_at) if trip.dispatched_at else None,
        "planned_arrival": iso(trip.planned_arrival) if trip.planned_arrival else None,
        "received_at": iso(trip.received_at) if trip.received_at else None,
        "overdue_s": round((end - deadline).total_seconds(), 1),
        "last_fix": {"seq": last_fix.seq, "ts": iso(last_fix.ts), "lon": last_fix.lon, "lat": last_fix.lat}
        if last_fix else None,
    }
    return FindingDraft(
        code="OVERDUE", severity=WARNING, manifest_no=trip.manifest_no, plate=trip.plate,
        window_start=deadline, window_end=end,
        location=(last_fix.lon, last_fix.lat) if last_fix else None,
        evidence=evidence, verified=True, episode_key="OVERDUE",
    )


def capacity_exceeded(
    site: Place, year_accepted_kg: int, capacity_kg: int | None, at: datetime
) -> FindingDraft | None:
    """Receiver-level: accepted kg this calendar year above the permitted annual capacity."""
    if capacity_kg is None or year_accepted_kg <= capacity_kg:
        return None
    evidence = {
        "site_id": site.id, "site_name": site.name, "enterprise_id": site.enterprise_id,
        "year": at.year, "year_accepted_kg": year_accepted_kg, "capacity_kg": capacity_kg,
        "excess_kg": year_accepted_kg - capacity_kg,
    }
    return FindingDraft(
        code="CAPACITY_EXCEEDED", severity=WARNING, manifest_no=None, plate=None,
        window_start=at, window_end=at, location=representative_lonlat(site.geometry),
        evidence=evidence, verified=True, episode_key=f"CAPACITY_EXCEEDED:{site.id}:{at.year}",
    )


def trip_phase(trip: Trip, places: PlaceIndex | None = None) -> str | None:
    """"arrived" once a fix after dispatch lies in the receiving site (and not also in the
    generator's), "in_transit" once a fix after dispatch lies outside the generator site,
    else None. `places` is accepted for symmetry; the trip carries both geofences.
    """
    if trip.dispatched_at is None:
        return None
    track = Track.from_fixes(trip.fixes)
    after = track.t >= trip.dispatched_at.timestamp()
    if not after.any():
        return None
    lon, lat = track.lon[after], track.lat[after]
    in_gen = covers_lonlat(trip.generator_site.geometry, lon, lat)
    if (covers_lonlat(trip.receiver_site.geometry, lon, lat) & ~in_gen).any():
        return "arrived"
    if (~in_gen).any():
        return "in_transit"
    return None


def loaded_window(trip: Trip) -> tuple[datetime, datetime | None] | None:
    """(departure, entry into the receiving site) -- end None while still loaded;
    None when the vehicle has not departed. See context.py for the exact definitions."""
    ctx = TripContext(trip, None, DEFAULT_THRESHOLDS)
    if not ctx.departed or ctx.loaded.start_dt is None:
        return None
    end = ctx.loaded.end_dt if np.isfinite(ctx.loaded.end) else None
    return ctx.loaded.start_dt, end


def _qualifier(key: str) -> str:
    """The key without its trailing timestamp: code (and place id for place-bound codes), and the
    leg it belongs to (``@leg2``: two legs' episodes are never one)."""
    key, marker, leg = key.partition("@")
    parts = key.split(":", 2)
    base = ":".join(parts[:2]) if parts[0] in ("DIVERSION", "RESTRICTED_ZONE_ENTRY") else parts[0]
    return base + marker + leg


def carry_episode_keys(
    drafts: list[FindingDraft], stored: Mapping[str, tuple[datetime, datetime]]
) -> list[FindingDraft]:
    """Keep one finding per episode when late fixes move an episode's start.

    `stored` maps the episode keys already stored for this manifest to their windows. A draft
    whose key is not stored takes the key of a stored episode of the same code (and place)
    whose window overlaps its own, unless another draft already produces that key. Drafts are
    modified in place and returned.
    """
    produced = {d.episode_key for d in drafts}
    for d in drafts:
        if d.episode_key in stored:
            continue
        for key, (start, end) in stored.items():
            if key in produced or _qualifier(key) != _qualifier(d.episode_key):
                continue
            if start <= d.window_end and d.window_start <= end:
                d.episode_key = key
                produced.add(key)
                break
    return drafts
