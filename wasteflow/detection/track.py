"""Fixes and load readings as sorted numpy arrays, built once per trip.

Fixes arrive in any order (buffered batches); everything downstream works on event time.
Sorting is by (ts, seq). Exact repeats (same device, seq and ts) are kept once. Fixes with
non-finite or out-of-range coordinates are dropped: they cannot be placed on the Earth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter

import numpy as np

from .geo import ecef
from .model import Fix, LoadReading

_TS, _LON, _LAT, _VERIFIED, _SEQ = (attrgetter(name) for name in ("ts", "lon", "lat", "verified", "seq"))
_LOAD_KG = attrgetter("load_kg")
_timestamp = datetime.timestamp


def iso(ts: datetime) -> str:
    """RFC 3339 in UTC, the form used in keys and evidence."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@dataclass
class Track:
    fixes: list[Fix]
    t: np.ndarray  # epoch seconds
    lon: np.ndarray
    lat: np.ndarray
    xyz: np.ndarray  # (n, 3) ECEF metres
    verified: np.ndarray  # bool

    @classmethod
    def from_fixes(cls, fixes: Iterable[Fix]) -> Track:
        fixes = list(fixes)
        if not fixes:
            return cls([], np.empty(0), np.empty(0), np.empty(0), np.empty((0, 3)), np.empty(0, bool))
        n = len(fixes)
        # map() over C getters: no Python bytecode per fix (the hot loop of every detection run)
        t = np.fromiter(map(_timestamp, map(_TS, fixes)), float, n)
        lon = np.fromiter(map(_LON, fixes), float, n)
        lat = np.fromiter(map(_LAT, fixes), float, n)
        verified = np.fromiter(map(_VERIFIED, fixes), bool, n)
        # NaN and infinities fail the range tests too
        ok = (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & np.isfinite(t)
        dt = np.diff(t)
        # seq only breaks ties between equal times: not needed when strictly increasing (usual)
        seq = None if (dt > 0).all() else np.fromiter(map(_SEQ, fixes), float, n)
        order = _sort_order(t, seq, dt)
        if not ok.all():
            order = order[ok[order]] if order is not None else np.nonzero(ok)[0]
        if order is not None:
            fixes = [fixes[i] for i in order]
            t, lon, lat, verified = t[order], lon[order], lat[order], verified[order]
            seq = seq[order] if seq is not None else None
        keep = _not_repeats(fixes, t, seq) if seq is not None else None
        if keep is not None:
            fixes = [o for o, k in zip(fixes, keep, strict=False) if k]
            t, lon, lat, verified = t[keep], lon[keep], lat[keep], verified[keep]
        return cls(fixes, t, lon, lat, ecef(lon, lat), verified)

    def __len__(self) -> int:
        return len(self.fixes)

    def index_range(self, start: float, end: float) -> tuple[int, int]:
        """Half-open index range of the fixes with start <= t <= end."""
        return (
            int(np.searchsorted(self.t, start, side="left")),
            int(np.searchsorted(self.t, end, side="right")),
        )

    def position_at(self, t: float, max_gap_s: float) -> tuple[float, float] | None:
        """Linearly interpolated position at time t, or None when no fix is near enough."""
        n = len(self.t)
        if n == 0:
            return None
        j = int(np.searchsorted(self.t, t, side="left"))
        if j < n and self.t[j] == t:
            return float(self.lon[j]), float(self.lat[j])
        before, after = j - 1, j
        if 0 <= before and after < n and self.t[after] - self.t[before] <= max_gap_s:
            w = (t - self.t[before]) / (self.t[after] - self.t[before])
            return (
                float(self.lon[before] + w * (self.lon[after] - self.lon[before])),
                float(self.lat[before] + w * (self.lat[after] - self.lat[before])),
            )
        near = [k for k in (before, after) if 0 <= k < n and abs(self.t[k] - t) <= max_gap_s]
        if not near:
            return None
        k = min(near, key=lambda k: abs(self.t[k] - t))
        return float(self.lon[k]), float(self.lat[k])


def _sort_order(t: np.ndarray, seq: np.ndarray | None, dt: np.ndarray | None = None) -> np.ndarray | None:
    """Indices sorting by (t, seq), or None when already sorted (the usual case).

    seq may be None only when t is strictly increasing (then it cannot matter)."""
    dt = np.diff(t) if dt is None else dt
    if (dt > 0).all():
        return None
    assert seq is not None, "a track with repeated timestamps needs seq to order them"
    if (dt >= 0).all() and (np.diff(seq)[dt == 0] >= 0).all():
        return None
    return np.lexsort((seq, t))


def _not_repeats(objs: Sequence[Fix | LoadReading], t: np.ndarray, seq: np.ndarray) -> np.ndarray | None:
    """Mask keeping the first of exact repeats (same device, seq, ts), None if there are none."""
    same = np.nonzero((t[1:] == t[:-1]) & (seq[1:] == seq[:-1]))[0] + 1
    keep = None
    for i in same.tolist():
        if objs[i].device_id == objs[i - 1].device_id:
            if keep is None:
                keep = np.ones(len(objs), bool)
            keep[i] = False
    return keep


@dataclass
class LoadSeries:
    readings: list[LoadReading]
    t: np.ndarray
    kg: np.ndarray

    @classmethod
    def from_readings(cls, readings: Iterable[LoadReading]) -> LoadSeries:
        readings = list(readings)
        n = len(readings)
        t = np.fromiter(map(_timestamp, map(_TS, readings)), float, n)
        kg = np.fromiter(map(_LOAD_KG, readings), float, n)
        seq = np.fromiter(map(_SEQ, readings), float, n)
        order = _sort_order(t, seq) if readings else None
        if order is not None:
            readings = [readings[i] for i in order]
            t, kg, seq = t[order], kg[order], seq[order]
        keep = _not_repeats(readings, t, seq)
        if keep is not None:
            readings = [r for r, k in zip(readings, keep, strict=False) if k]
            t, kg = t[keep], kg[keep]
        return cls(readings, t, kg)

    def between(self, start: float, end: float) -> LoadSeries:
        i = int(np.searchsorted(self.t, start, side="left"))
        j = int(np.searchsorted(self.t, end, side="right"))
        return LoadSeries(self.readings[i:j], self.t[i:j], self.kg[i:j])

    def __len__(self) -> int:
        return len(self.readings)
