"""Stop detection: the vehicle stays within `stop_radius_m` of one point for `stop_min_seconds`.

A stop is a stay (``stays.py``): stray fixes beyond the radius are outliers, and only a real
departure (≥ 2 consecutive fixes beyond it spanning ≥ 60 s) ends it. It is found in three steps:

1. **Proof**, anchored on one fix as Traccar does: scanning forward, a stop is proved at the
   first fix i (the *anchor*) from which the vehicle has not left the radius around fix i for
   at least `stop_min_seconds`. Anchoring on a fix keeps the scan cheap and its result stable:
   fixes appended later only extend a stop, never move the fix that proved it.
2. **Centre**: the mean of the fixes within the radius of the anchor during that proof.
3. **Extent**: around that centre, walking back from the anchor until the vehicle had not yet
   arrived and on until it has left, the stop runs from its first fix within the radius to its
   last (findings.md: "a stay starts at its first fix within the radius of its centre"), and
   must still last `stop_min_seconds`. A truck that pulled up on a few noisy fixes, or rolled
   into place, is therefore not dated from the fix that happened to prove the stop.
4. **Settling**: the start is then sought once more around the stop's own centre (the mean of all
   its fixes within the radius), which may reach a little further back. The start can thus
   settle earlier while the stop grows; the anchor does not move, so the finding's identity
   (its episode key) is the anchor's time. Everything that decides whether there is a stop, and
   where the scan resumes, depends only on fixes up to the vehicle's departure: appending fixes
   never removes a stop or changes its key.

Only fixes from which a stop could start are anchors: a stop proved at i contains the first fix
at or after t_i + stop_min_seconds, or the one after it (when that fix is a lone outlier), so
fix i is a candidate only when one of those lies within the radius of it — a vectorised test
that discards moving fixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .geo import chord_m
from .model import Fix, Stop, Thresholds
from .stays import left_at, max_gap_s
from .track import Track


@dataclass(frozen=True)
class StopSpan:
    """Indices of one stop in a time-sorted track: its first and last fix within the radius
    of its centre, and which fixes in between are members (the rest are outliers)."""

    first: int
    last: int
    members: np.ndarray  # bool, one per fix first..last
    anchor: int  # the fix that proved the stop: its identity, stable while the stop grows
    reach: int  # the last fix before the vehicle left (the scan for the next stop resumes after it)

    @property
    def outliers(self) -> int:
        return int(self.members.size - np.count_nonzero(self.members))


def stop_spans(t: np.ndarray, xyz: np.ndarray, radius_m: float, min_s: float,
               leave_fixes: int = 2, leave_s: float = 60.0) -> list[StopSpan]:
    """The stops of a time-sorted track (module doc), oldest first."""
    n = len(t)
    if n < 2:
        return []
    later = np.searchsorted(t, t + min_s, side="left")
    spans: list[StopSpan] = []
    next_free = 0
    for i in _candidates(xyz, later, radius_m):
        if i < next_free:
            continue
        span = _stop_at(t, xyz, int(i), int(later[i]), next_free, radius_m, min_s, leave_fixes, leave_s)
        if span is not None:
            spans.append(span)
            next_free = span.reach + 1
    return spans


def _candidates(xyz: np.ndarray, later: np.ndarray, radius_m: float) -> np.ndarray:
    n = len(xyz)
    has_later = np.nonzero(later < n)[0]
    if has_later.size == 0:
        return has_later
    near = chord_m(xyz[later[has_later]], xyz[has_later]) <= radius_m
    after = np.minimum(later[has_later] + 1, n - 1)
    near |= chord_m(xyz[after], xyz[has_later]) <= radius_m
    return has_later[near]


def _stop_at(t: np.ndarray, xyz: np.ndarray, i: int, proof_end: int, floor: int, radius_m: float,
             min_s: float, leave_fixes: int, leave_s: float) -> StopSpan | None:
    """The stop anchored at fix i, or None when it does not last `min_s` (module doc)."""
    anchor = xyz[i]
    core_last = reach(t, xyz, anchor, i, len(t), +1, radius_m, leave_fixes, leave_s, size=proof_end - i + 16)
    if core_last is None or t[core_last] - t[i] < min_s:
        return None
    proof = xyz[i:proof_end + 1]
    centre = _mean(proof, chord_m(proof, anchor) <= radius_m)
    before = reach(t, xyz, centre, i - 1, floor - 1, -1, radius_m, leave_fixes, leave_s)
    after = reach(t, xyz, centre, core_last + 1, len(t), +1, radius_m, leave_fixes, leave_s)
    lo = min(i, before) if before is not None else i
    hi = max(core_last, after) if after is not None else core_last
    near = chord_m(xyz[lo:hi + 1], centre) <= radius_m
    inside = np.flatnonzero(near)
    if inside.size == 0 or t[lo + inside[-1]] - t[lo + inside[0]] < min_s:
        return None
    first, last = lo + int(inside[0]), lo + int(inside[-1])
    members = near[inside[0]:inside[-1] + 1]
    settled = _settle(t, xyz, first, last, _mean(xyz[first:last + 1], members), floor, radius_m,
                      leave_fixes, leave_s)
    if settled is not None and t[settled[1]] - t[settled[0]] >= min_s:
        first, last, members = settled
    return StopSpan(first, last, members, i, hi)


def _mean(xyz: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean of the masked points (a matrix product: cheaper than indexing on small arrays)."""
    weights = mask.astype(float)
    return weights @ xyz / weights.sum()


def _settle(t: np.ndarray, xyz: np.ndarray, first: int, last: int, centre: np.ndarray, floor: int,
            radius_m: float, leave_fixes: int, leave_s: float) -> tuple[int, int, np.ndarray] | None:
    """The stop's extent and members around its own centre: its first and last fix within the
    radius of it (the start sought further back), or None if none is."""
    before = reach(t, xyz, centre, first - 1, floor - 1, -1, radius_m, leave_fixes, leave_s)
    lo = min(first, before) if before is not None else first
    inside = np.flatnonzero(chord_m(xyz[lo:last + 1], centre) <= radius_m)
    if inside.size == 0:
        return None
    first, last = lo + int(inside[0]), lo + int(inside[-1])
    return first, last, chord_m(xyz[first:last + 1], centre) <= radius_m


def reach(t: np.ndarray, xyz: np.ndarray, ref: np.ndarray, start: int, stop: int, step: int,
          radius_m: float, leave_fixes: int, leave_s: float, size: int = 16) -> int | None:
    """Walking from `start` towards `stop` (exclusive) by `step`: the last fix within the radius of
    `ref` before the vehicle left it (a departure, ``stays.left_at``), or None if there is none.

    Walks in growing windows (from `size` fixes) rather than measuring the whole rest of the track
    from every anchor.
    """
    n = len(t)
    while True:
        end = start + step * size
        final = (end - stop) * step >= 0
        end = stop if final else end
        if step > 0:
            sl = slice(start, end)
        else:  # walking back: the fixes start, start-1, ..., end+1
            sl = slice(end + 1 if end >= 0 else 0, start + 1)
        if sl.start >= min(sl.stop, n):
            return None
        beyond = chord_m(xyz[sl], ref) > radius_m
        times = t[sl]
        if step < 0:
            beyond, times = beyond[::-1], times[::-1]
        cut = left_at(beyond, times, leave_fixes, leave_s)
        if cut is not None or final:
            inside = np.flatnonzero(~beyond[:cut])
            return start + step * int(inside[-1]) if inside.size else None
        size *= 4


def stop_from_span(track: Track, span: StopSpan) -> Stop:
    sl = slice(span.first, span.last + 1)
    weights = span.members.astype(float)
    count = float(weights.sum())
    return Stop(
        start=track.fixes[span.first].ts,
        end=track.fixes[span.last].ts,
        lon=float(weights @ track.lon[sl] / count),
        lat=float(weights @ track.lat[sl] / count),
        fix_count=int(count),
        first_seq=track.fixes[span.first].seq,
        last_seq=track.fixes[span.last].seq,
        verified=bool(track.verified[sl].all()),
        outliers=int(span.members.size - count),
        max_gap_s=max_gap_s(track.t, span.first, span.last),
    )


def track_stops(track: Track, th: Thresholds, first: int = 0, end: int | None = None) -> list[tuple[Stop, StopSpan]]:
    """The stops among fixes first..end-1 of a track, with their spans (absolute indices)."""
    end = len(track) if end is None else end
    sl = slice(first, end)
    spans = stop_spans(track.t[sl], track.xyz[sl], th.stop_radius_m, th.stop_min_seconds,
                       th.stay_leave_fixes, th.stay_leave_s)
    out = []
    for s in spans:
        span = StopSpan(s.first + first, s.last + first, s.members, s.anchor + first, s.reach + first)
        out.append((stop_from_span(track, span), span))
    return out


def find_stops(fixes: Iterable[Fix] | Track, th: Thresholds = Thresholds()) -> list[Stop]:
    """All stops of a track (fixes in any order), oldest first."""
    track = fixes if isinstance(fixes, Track) else Track.from_fixes(fixes)
    return [stop for stop, _ in track_stops(track, th)]
