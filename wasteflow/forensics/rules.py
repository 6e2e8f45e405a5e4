"""The dump-site rules, pure: a vehicle's readings near a place in, a passage's figures and its rank out.

findings.md, "Forensics": a passage is a vehicle whose fixes came within the radius, grouped by
manifest; it says whether the vehicle was loaded then, how long it spent within the radius, how
close it came, its longest stop there (≥ 2 min at ≤ 5 km/h), any load drop there and the
manifest's shortfall. Passages rank loaded before unloaded, then a load drop there, a stop there,
a tonnage shortfall, and time within the radius: a loaded truck driving past at speed is listed
and ranked low, never hidden.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EARTH_M = 6_371_008.8
STOP_MAX_KMH = 5.0
"""A fix this slow (reported, or implied by the move from the fix before) is standing."""
STOP_MIN_S = 120.0
"""A stop there lasts at least this long."""


@dataclass(frozen=True)
class NearFix:
    """A fix as forensics reads it: where, when, how fast, and whether a signing device sent it."""

    ts: datetime
    lon: float
    lat: float
    seq: int
    device_id: str
    verified: bool
    speed_kmh: float | None = None


@dataclass
class Passage:
    """One vehicle's time near the place on one manifest (or on none), while loaded or not."""

    manifest_no: str | None
    plate: str
    loaded: bool
    enter: datetime
    leave: datetime
    seconds_within: float
    closest_m: float
    longest_stop_s: float
    load_drop_kg: int = 0
    dropped: bool = False
    shortfall_kg: int | None = None
    fixes: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    rank: int = 0


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine): within a few hundred metres it is the geodesic to a millimetre."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) holding every point within ``radius_m`` of (lon, lat), with a margin:
    the index prefilter; the exact distance decides after."""
    dlat = math.degrees(radius_m * 1.01 / EARTH_M)
    dlon = dlat / max(math.cos(math.radians(lat)) - abs(dlat) * math.pi / 180, 1e-6)
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def seconds_within(track: Sequence[NearFix], lon: float, lat: float, radius_m: float) -> float:
    """Time within the radius of (lon, lat): for each pair of consecutive fixes with one of them within it,
    the share of the time between them the straight line from one to the other spends within it (a truck
    passing at speed with a single fix inside still spent a few seconds there)."""
    total = 0.0
    for a, b in zip(track, track[1:], strict=False):
        ax, ay = _local_m(a, lon, lat)
        bx, by = _local_m(b, lon, lat)
        if min(math.hypot(ax, ay), math.hypot(bx, by)) <= radius_m:
            total += (b.ts - a.ts).total_seconds() * _share_within(ax, ay, bx, by, radius_m)
    return round(total, 1)


def _local_m(fix: NearFix, lon: float, lat: float) -> tuple[float, float]:
    """The fix in metres east and north of (lon, lat): planar, right to a millimetre within a few km."""
    return (math.radians(fix.lon - lon) * EARTH_M * math.cos(math.radians(lat)),
            math.radians(fix.lat - lat) * EARTH_M)


def _share_within(ax: float, ay: float, bx: float, by: float, r: float) -> float:
    """The share of the segment a→b that lies within r of the origin."""
    dx, dy = bx - ax, by - ay
    qa, qb, qc = dx * dx + dy * dy, 2 * (ax * dx + ay * dy), ax * ax + ay * ay - r * r
    if qa == 0:
        return 1.0 if qc <= 0 else 0.0
    disc = qb * qb - 4 * qa * qc
    if disc < 0:
        return 0.0
    root = math.sqrt(disc)
    low, high = max(0.0, (-qb - root) / (2 * qa)), min(1.0, (-qb + root) / (2 * qa))
    return max(0.0, high - low)


def standing(track: Sequence[NearFix]) -> list[bool]:
    """Whether each fix is standing: its reported speed, or (none reported) the move from the fix before."""
    out = []
    for i, fix in enumerate(track):
        if fix.speed_kmh is not None:
            out.append(fix.speed_kmh <= STOP_MAX_KMH)
        elif i == 0:
            out.append(len(track) > 1 and _implied_kmh(fix, track[1]) <= STOP_MAX_KMH)
        else:
            out.append(_implied_kmh(track[i - 1], fix) <= STOP_MAX_KMH)
    return out


def _implied_kmh(a: NearFix, b: NearFix) -> float:
    dt = abs((b.ts - a.ts).total_seconds())
    return math.inf if dt == 0 else distance_m(a.lon, a.lat, b.lon, b.lat) / dt * 3.6


def longest_stop_s(track: Sequence[NearFix], inside: Sequence[bool]) -> float:
    """The longest run of consecutive standing fixes within the radius, if it lasts ≥ 2 min; else 0."""
    best, run_start = 0.0, None
    for fix, near, still in zip(track, inside, standing(track), strict=True):
        if near and still:
            run_start = run_start or fix.ts
            best = max(best, (fix.ts - run_start).total_seconds())
        else:
            run_start = None
    return best if best >= STOP_MIN_S else 0.0


def largest_fall(loads: Sequence[tuple[datetime, int]]) -> tuple[int, int]:
    """(the largest fall of the on-board load over the readings, the load it fell from)."""
    peak, fall, from_kg = None, 0, 0
    for _, kg in loads:
        peak = kg if peak is None or kg > peak else peak
        if peak - kg > fall:
            fall, from_kg = peak - kg, peak
    return fall, from_kg


def significant_drop(fall: int, from_kg: int, drop_pct: float, drop_min_kg: int) -> bool:
    """A fall LOAD_DROP would count: more than the larger of ``drop_pct`` % of the load and ``drop_min_kg``."""
    return fall > max(from_kg * drop_pct / 100, drop_min_kg)


def rank_key(passage: Passage) -> tuple:
    """Loaded first; then a load drop there, a stop there, a shortfall, more time within, closer."""
    return (not passage.loaded, not passage.dropped, passage.longest_stop_s < STOP_MIN_S,
            not passage.shortfall_kg, -passage.seconds_within, passage.closest_m, passage.enter)


def ranked(passages: list[Passage]) -> list[Passage]:
    out = sorted(passages, key=rank_key)
    for i, passage in enumerate(out, 1):
        passage.rank = i
    return out
