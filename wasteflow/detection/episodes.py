"""Episode finders: where in a trip a stop, a load drop or a diversion happened.

Several rules read the same episodes (UNAUTHORIZED_STOP raises the stops, TONNAGE_SHORTFALL
lists them as candidate dump locations), so each finder runs once per trip: the public
functions here go through :meth:`TripContext.shared`. The finders know nothing of drafts;
the rules (``live_rules``, ``reconciliation``) turn episodes into findings and
:mod:`.evidence` into evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely

from .context import TripContext
from .model import Place, Stop
from .places import PARKING, REST_AREA
from .stays import dwell_runs
from .stops import track_stops

# -- stops -----------------------------------------------------------------------------------


@dataclass
class StopEpisode:
    stop: Stop
    first: int
    last: int
    to_generator_m: float
    to_receiver_m: float
    anchor: int  # the fix that proved the stop (stops.py): the episode's stable identity


def stop_excuse(ctx: TripContext, stop: Stop, to_gen: float, to_rec: float) -> str | None:
    """Why a stop is legitimate (gate queue, rest area, own parking), or None."""
    if to_gen <= ctx.th.gate_radius_m:
        return "generator"
    if to_rec <= ctx.th.gate_radius_m:
        return "receiver"
    for place in ctx.places.containing(stop.lon, stop.lat):
        if place.is_zone and place.kind == REST_AREA:
            return "rest_area"
        if not place.is_zone and place.kind == PARKING and place.enterprise_id == ctx.trip.transporter_id:
            return "parking"
    return None


def find_unauthorized_stops(ctx: TripContext) -> list[StopEpisode]:
    """The loaded stops (stays, with outliers tolerated) that no excuse covers."""
    episodes = []
    for stop, span in track_stops(ctx.track, ctx.th, ctx.l0, ctx.l1):
        to_gen = ctx.site_distance_m(0, stop.lon, stop.lat, exact=False)
        to_rec = ctx.site_distance_m(1, stop.lon, stop.lat, exact=False)
        if stop_excuse(ctx, stop, to_gen, to_rec) is None:
            to_gen = ctx.site_distance_m(0, stop.lon, stop.lat)
            to_rec = ctx.site_distance_m(1, stop.lon, stop.lat)
            episodes.append(StopEpisode(stop, span.first, span.last, to_gen, to_rec, span.anchor))
    return episodes


def unauthorized_stops(ctx: TripContext) -> list[StopEpisode]:
    return ctx.shared(find_unauthorized_stops)


# -- load drops ------------------------------------------------------------------------------


@dataclass
class LoadDropEpisode:
    first: int  # reading indices in ctx.loads
    last: int
    reference_kg: float
    level_kg: float
    threshold_kg: float
    location: tuple[float, float] | None
    verified: bool


def _drop_runs(kg: np.ndarray, base: float, thr: float, min_readings: int) -> list[tuple[int, int, float, float]]:
    """(first, last, reference, level) of each confirmed drop.

    A drop is confirmed by `min_readings` consecutive readings below reference - threshold.
    It then lasts while the load keeps falling; once two consecutive readings agree within
    the threshold the load has settled, and that level becomes the reference for the next
    drop (a second dump later in the trip is a second episode).
    """
    runs: list[tuple[int, int, float, float]] = []
    ref, confirmed = base, False
    low_start: int | None = None
    for j, v in enumerate(kg):
        if not confirmed:
            if v < ref - thr:
                low_start = j if low_start is None else low_start
                confirmed = j - low_start + 1 >= min_readings
            else:
                low_start = None
            if not confirmed:
                continue
        assert low_start is not None  # a confirmed drop has its first reading
        if v >= ref - thr:  # recovered: the confirmed drop ends at the previous reading
            runs.append((low_start, j - 1, ref, float(kg[j - 1])))
            low_start, confirmed = None, False
            continue
        if j > low_start and abs(v - kg[j - 1]) <= thr:
            runs.append((low_start, j, ref, float(v)))
            ref, low_start, confirmed = float(v), None, False
    if confirmed and low_start is not None:
        runs.append((low_start, len(kg) - 1, ref, float(kg[-1])))
    return runs


LOAD_DROP_NOISE_PCT = 1.0
"""Below this share of the departure load (or 100 kg), a change in the load is sensor noise."""


def _merge_continuous(runs: list[tuple[int, int, float, float]], kg: np.ndarray,
                      noise_kg: float) -> list[tuple[int, int, float, float]]:
    """Join drops with the load still falling between them: a slow, steady unload looks
    settled between its steps (each smaller than the threshold), which must not make every
    step an episode. A load that holds level before falling again is a second dump, kept apart."""
    merged: list[tuple[int, int, float, float]] = []
    for a, b, ref, level in runs:
        if merged and _kept_falling(kg, merged[-1][1], a, noise_kg):
            first, _, first_ref, _ = merged[-1]
            merged[-1] = (first, b, first_ref, level)
        else:
            merged.append((a, b, ref, level))
    return merged


def _kept_falling(kg: np.ndarray, settled: int, resumed: int, noise_kg: float) -> bool:
    between = kg[settled:resumed + 1]
    return bool(np.all(np.diff(between) < -noise_kg))


def find_load_drops(ctx: TripContext) -> list[LoadDropEpisode]:
    loads, th = ctx.loads, ctx.th
    if len(loads) < th.load_drop_min_readings + 1:
        return []
    head = loads.kg[:3]
    base = float(np.median(head))
    thr = max(base * th.load_drop_pct / 100.0, float(th.load_drop_min_kg))
    if not (loads.kg < base - thr).any():
        return []
    receiver = ctx.trip.receiver_site.geometry
    arrival_weighed = (
        ctx.trip.arrival_ticket.gross_at.timestamp() if ctx.trip.arrival_ticket else np.inf
    )
    # Before the first low reading nothing can happen: scan from there only.
    skip = int(np.argmax(loads.kg < base - thr))
    episodes = []
    runs = [(a + skip, b + skip, ref, level)
            for a, b, ref, level in _drop_runs(loads.kg[skip:], base, thr, th.load_drop_min_readings)]
    noise_kg = max(base * LOAD_DROP_NOISE_PCT / 100.0, 100.0)
    for a, b, ref, level in _merge_continuous(runs, loads.kg, noise_kg):
        at = float(loads.t[a])
        if ctx.trip.received_at is None and (len(ctx.track) == 0 or ctx.track.t[-1] < at):
            continue  # under way and no fix yet after the drop: wait for its position
        where = ctx.track.position_at(at, th.gps_gap_s)
        if where is not None and shapely.intersects_xy(receiver, *where):
            continue  # unloading at the receiver
        if where is None and at >= arrival_weighed:
            continue  # no position, but already weighed in at the receiver
        used = loads.readings[: min(3, len(loads))] + loads.readings[a : b + 1]
        episodes.append(LoadDropEpisode(a, b, ref, level, thr, where, all(r.verified for r in used)))
    return episodes


def load_drops(ctx: TripContext) -> list[LoadDropEpisode]:
    return ctx.shared(find_load_drops)


# -- places: diversions and restricted zones ---------------------------------------------------


def hits_by_place(ctx: TripContext) -> Iterator[tuple[Place, np.ndarray]]:
    """Yield (place, sorted fix indices inside it) over the loaded fixes."""
    pts, places = ctx.loaded_place_hits
    if places.size == 0:
        return
    uniq, starts = np.unique(places, return_index=True)
    ends = np.append(starts[1:], places.size)
    for p, a, b in zip(uniq, starts, ends, strict=False):
        yield ctx.places.places[int(p)], pts[a:b]


@dataclass
class PlaceEpisode:
    """Fixes first..last inside a place. For a dwell (DIVERSION) across overlapping or adjoining
    sites, `place` is the one its first fix lies in (lowest id), `places` every site it was in,
    and `members` which fixes were inside one of them (the others are outliers)."""

    place: Place
    first: int
    last: int
    places: tuple[Place, ...] = ()
    members: np.ndarray | None = None


def foreign_site_hits(ctx: TripContext) -> tuple[np.ndarray, dict[int, list[Place]]]:
    """Which loaded fixes lie in a site that may be a diversion, and in which sites.

    Time inside one of the manifest's own sites never counts, even where another site overlaps
    it (findings.md): such a fix is not inside a foreign site. Zones and parking sites never count.
    """
    n = ctx.l1 - ctx.l0
    own = ctx.in_gen[ctx.l0:ctx.l1] | ctx.in_rec[ctx.l0:ctx.l1]
    own_ids = {ctx.trip.generator_site.id, ctx.trip.receiver_site.id}
    sites: dict[int, list[Place]] = {}
    pts, places = ctx.loaded_place_hits
    for pt, index in zip(pts.tolist(), places.tolist(), strict=True):
        place = ctx.places.places[index]
        if place.is_zone or place.kind == PARKING or place.id in own_ids or own[pt - ctx.l0]:
            continue
        sites.setdefault(pt, []).append(place)
    member = np.zeros(n, bool)
    member[np.fromiter(sites, int, len(sites)) - ctx.l0] = True
    return member, sites


def find_diversions(ctx: TripContext) -> list[PlaceEpisode]:
    """Dwells of ≥ diversion_min_seconds in foreign sites: one episode however many sites it spans."""
    th, t = ctx.th, ctx.track.t
    member, sites = foreign_site_hits(ctx)
    episodes = []
    for a, b in dwell_runs(member, t[ctx.l0:ctx.l1], th.stay_leave_fixes, th.stay_leave_s):
        first, last = ctx.l0 + a, ctx.l0 + b
        if t[last] - t[first] < th.diversion_min_seconds:
            continue
        seen: dict[int, Place] = {}
        for k in range(first, last + 1):
            for place in sorted(sites.get(k, ()), key=lambda p: p.id):
                seen.setdefault(place.id, place)
        named = tuple(seen.values())
        episodes.append(PlaceEpisode(named[0], first, last, named, member[a:b + 1].copy()))
    return episodes


def diversions(ctx: TripContext) -> list[PlaceEpisode]:
    return ctx.shared(find_diversions)
