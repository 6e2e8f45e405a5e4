"""Stop detection: the vehicle stays within `stop_radius_m` of one point for `stop_min_seconds`.

The point is the stop's first fix (as Traccar does): scanning forward, a stop starts at the
first fix i from which every later fix up to at least `stop_min_seconds` stays within the
radius, and lasts until the first fix farther away. Anchoring on the first fix makes the
stop's identity (its first fix) stable while later fixes extend it.

Only fixes from which a stop could possibly start are scanned: a stop starting at i must
contain the first fix at or after t_i + stop_min_seconds, so fix i is a candidate only when
that fix lies within the radius of it -- a single vectorised test that discards moving fixes.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .geo import chord_m
from .model import Fix, Stop, Thresholds
from .track import Track


def stop_runs(t: np.ndarray, xyz: np.ndarray, radius_m: float, min_s: float) -> list[tuple[int, int]]:
    """Inclusive (first, last) index pairs of the stops in a time-sorted track."""
    n = len(t)
    if n < 2:
        return []
    later = np.searchsorted(t, t + min_s, side="left")
    has_later = np.nonzero(later < n)[0]
    if has_later.size == 0:
        return []
    near = chord_m(xyz[later[has_later]], xyz[has_later]) <= radius_m
    candidates = has_later[near]
    runs: list[tuple[int, int]] = []
    next_free = 0
    for i in candidates:
        if i < next_free:
            continue
        last = _last_within(xyz, i, radius_m, int(later[i]) if later[i] < n else n - 1)
        if t[last] - t[i] >= min_s:
            runs.append((int(i), last))
            next_free = last + 1
    return runs


def _last_within(xyz: np.ndarray, i: int, radius_m: float, hint: int) -> int:
    """The last index j >= i such that every fix i..j lies within radius_m of fix i.

    Scans forward in growing windows (from the candidate's `hint`, the fix min_s later)
    rather than measuring the whole rest of the track from every candidate.
    """
    n = len(xyz)
    lo, size = i, max(hint - i + 1, 16)
    while lo < n:
        hi = min(lo + size, n)
        away = np.nonzero(chord_m(xyz[lo:hi], xyz[i]) > radius_m)[0]
        if away.size:
            return lo + int(away[0]) - 1
        lo, size = hi, size * 2
    return n - 1


def stop_from_run(track: Track, first: int, last: int) -> Stop:
    sl = slice(first, last + 1)
    return Stop(
        start=track.fixes[first].ts,
        end=track.fixes[last].ts,
        lon=float(track.lon[sl].mean()),
        lat=float(track.lat[sl].mean()),
        fix_count=int(last - first + 1),
        first_seq=track.fixes[first].seq,
        last_seq=track.fixes[last].seq,
        verified=bool(track.verified[sl].all()),
    )


def find_stops(fixes: Iterable[Fix] | Track, th: Thresholds = Thresholds()) -> list[Stop]:
    """All stops of a track (fixes in any order), oldest first."""
    track = fixes if isinstance(fixes, Track) else Track.from_fixes(fixes)
    runs = stop_runs(track.t, track.xyz, th.stop_radius_m, th.stop_min_seconds)
    return [stop_from_run(track, a, b) for a, b in runs]
