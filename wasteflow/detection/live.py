"""The live rules: one function per finding code, each `(TripContext) -> list[FindingDraft]`.

Episode keys (the identity the caller uses to grow a stored finding instead of duplicating
it) are built from the event time of the episode's first fix or reading, plus the place for
place-bound codes. Appending later fixes only extends an episode, so its key is stable.
A late batch that inserts fixes *before* an episode's first fix can move its start and thus
its key; `pipeline.carry_episode_keys` re-attaches such a draft to the stored episode it
overlaps (same code and place), so the caller keeps one finding per episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .context import TripContext
from .geo import distances_beyond_corridor, geodesic_m
from .model import CRITICAL, WARNING, FindingDraft, Place, Stop
from .places import PARKING, REST_AREA, RESTRICTED
from .stops import stop_from_run, stop_runs
from .track import iso

MAX_LISTED = 100  # evidence lists of seqs are capped at this length


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) index pairs of the runs of True in a boolean array."""
    if mask.size == 0:
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.nonzero(edges == 1)[0]
    ends = np.nonzero(edges == -1)[0] - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=False))


def consecutive_runs(indices: np.ndarray) -> list[tuple[int, int]]:
    """Split sorted integer indices into runs of consecutive values: (first, last) values."""
    if indices.size == 0:
        return []
    breaks = np.nonzero(np.diff(indices) != 1)[0]
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [indices.size - 1]))
    return [(int(indices[a]), int(indices[b])) for a, b in zip(starts, ends, strict=False)]


def r1(x: float) -> float:
    return round(float(x), 1)


def seqs(ctx: TripContext, first: int, last: int) -> list[int]:
    return [f.seq for f in ctx.track.fixes[first : min(last + 1, first + MAX_LISTED)]]


# -- ROUTE_DEVIATION ---------------------------------------------------------------------


def route_deviation(ctx: TripContext) -> list[FindingDraft]:
    trip, th = ctx.trip, ctx.th
    if trip.route is None or ctx.l1 <= ctx.l0:
        return []
    route_xy = ctx.frame.project(trip.route)
    x, y = ctx.loaded_xy
    beyond = distances_beyond_corridor(route_xy, trip.corridor_m, x, y)
    t = ctx.track.t
    out = []
    for a, b in true_runs(~np.isnan(beyond)):
        first, last = ctx.l0 + a, ctx.l0 + b
        if last - first + 1 < th.corridor_min_fixes or t[last] - t[first] < th.corridor_min_seconds:
            continue
        run = beyond[a : b + 1]
        far = first + int(np.argmax(np.where(np.isfinite(run), run, -1)))
        max_d = float(np.max(np.where(np.isfinite(run), run, 0)))
        evidence = {
            "corridor_m": r1(trip.corridor_m),
            "max_distance_m": r1(max_d),
            "farthest_fix": {"seq": ctx.track.fixes[far].seq, "ts": iso(ctx.fix_ts(far)),
                             "lon": ctx.fix_lonlat(far)[0], "lat": ctx.fix_lonlat(far)[1]},
            "fix_count": last - first + 1,
            "duration_s": r1(t[last] - t[first]),
            "fix_seqs": seqs(ctx, first, last),
        }
        out.append(ctx.draft(
            "ROUTE_DEVIATION", WARNING, ctx.fix_ts(first), ctx.fix_ts(last),
            ctx.fix_lonlat(first), evidence, ctx.all_verified(first, last),
            f"ROUTE_DEVIATION:{iso(ctx.fix_ts(first))}",
        ))
    return out


# -- UNAUTHORIZED_STOP -------------------------------------------------------------------


@dataclass
class StopEpisode:
    stop: Stop
    first: int
    last: int
    to_generator_m: float
    to_receiver_m: float


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


def unauthorized_stop_episodes(ctx: TripContext) -> list[StopEpisode]:
    sl = slice(ctx.l0, ctx.l1)
    runs = stop_runs(ctx.track.t[sl], ctx.track.xyz[sl], ctx.th.stop_radius_m, ctx.th.stop_min_seconds)
    episodes = []
    for a, b in runs:
        stop = stop_from_run(ctx.track, ctx.l0 + a, ctx.l0 + b)
        to_gen = ctx.site_distance_m(0, stop.lon, stop.lat, exact=False)
        to_rec = ctx.site_distance_m(1, stop.lon, stop.lat, exact=False)
        if stop_excuse(ctx, stop, to_gen, to_rec) is None:
            to_gen = ctx.site_distance_m(0, stop.lon, stop.lat)
            to_rec = ctx.site_distance_m(1, stop.lon, stop.lat)
            episodes.append(StopEpisode(stop, ctx.l0 + a, ctx.l0 + b, to_gen, to_rec))
    return episodes


def stop_evidence(ep: StopEpisode) -> dict:
    s = ep.stop
    return {
        "start": iso(s.start), "end": iso(s.end), "duration_s": r1(s.duration_s),
        "lon": s.lon, "lat": s.lat, "fix_count": s.fix_count,
        "first_seq": s.first_seq, "last_seq": s.last_seq,
        "distance_to_generator_m": r1(ep.to_generator_m) if np.isfinite(ep.to_generator_m) else None,
        "distance_to_receiver_m": r1(ep.to_receiver_m) if np.isfinite(ep.to_receiver_m) else None,
        "verified": s.verified,
    }


def unauthorized_stop(ctx: TripContext) -> list[FindingDraft]:
    out = []
    for ep in ctx.unauthorized_stops:
        s = ep.stop
        evidence = stop_evidence(ep) | {"radius_m": r1(ctx.th.stop_radius_m)}
        out.append(ctx.draft(
            "UNAUTHORIZED_STOP", WARNING, s.start, s.end, (s.lon, s.lat), evidence, s.verified,
            f"UNAUTHORIZED_STOP:{iso(s.start)}",
        ))
    return out


# -- LOAD_DROP ---------------------------------------------------------------------------


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
    runs = []
    ref, low_start, confirmed = base, None, False
    for j, v in enumerate(kg):
        if not confirmed:
            if v < ref - thr:
                low_start = j if low_start is None else low_start
                confirmed = j - low_start + 1 >= min_readings
            else:
                low_start = None
            if not confirmed:
                continue
        elif v >= ref - thr:  # recovered: the confirmed drop ends at the previous reading
            runs.append((low_start, j - 1, ref, float(kg[j - 1])))
            low_start, confirmed = None, False
            continue
        if j > low_start and abs(v - kg[j - 1]) <= thr:
            runs.append((low_start, j, ref, float(v)))
            ref, low_start, confirmed = float(v), None, False
    if confirmed:
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


def load_drop_episodes(ctx: TripContext) -> list[LoadDropEpisode]:
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


def load_drop(ctx: TripContext) -> list[FindingDraft]:
    out = []
    for ep in ctx.load_drops:
        readings = ctx.loads.readings[ep.first : ep.last + 1]
        evidence = load_drop_evidence(ctx, ep)
        out.append(ctx.draft(
            "LOAD_DROP", CRITICAL, readings[0].ts, readings[-1].ts, ep.location, evidence,
            ep.verified, f"LOAD_DROP:{iso(readings[0].ts)}",
        ))
    return out


def load_drop_evidence(ctx: TripContext, ep: LoadDropEpisode) -> dict:
    readings = ctx.loads.readings[ep.first : ep.last + 1]
    return {
        "reference_kg": int(round(ep.reference_kg)),
        "level_kg": int(round(ep.level_kg)),
        "drop_kg": int(round(ep.reference_kg - ep.level_kg)),
        "threshold_kg": int(round(ep.threshold_kg)),
        "start": iso(readings[0].ts),
        "end": iso(readings[-1].ts),
        "lon": ep.location[0] if ep.location else None,
        "lat": ep.location[1] if ep.location else None,
        "readings": [{"seq": r.seq, "ts": iso(r.ts), "load_kg": r.load_kg} for r in readings[:MAX_LISTED]],
        "verified": ep.verified,
    }


# -- DIVERSION and RESTRICTED_ZONE_ENTRY ---------------------------------------------------


def hits_by_place(ctx: TripContext):
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
    place: Place
    first: int
    last: int


def diversion_episodes(ctx: TripContext) -> list[PlaceEpisode]:
    excluded = {ctx.trip.generator_site.id, ctx.trip.receiver_site.id}
    t = ctx.track.t
    episodes = []
    for place, idx in hits_by_place(ctx):
        if place.is_zone or place.kind == PARKING or place.id in excluded:
            continue
        for first, last in consecutive_runs(idx):
            if t[last] - t[first] >= ctx.th.diversion_min_seconds:
                episodes.append(PlaceEpisode(place, first, last))
    return sorted(episodes, key=lambda e: e.first)


def place_evidence(ctx: TripContext, ep: PlaceEpisode) -> dict:
    sl = slice(ep.first, ep.last + 1)
    return {
        "place_id": ep.place.id, "place_name": ep.place.name, "place_kind": ep.place.kind,
        "enterprise_id": ep.place.enterprise_id,
        "start": iso(ctx.fix_ts(ep.first)), "end": iso(ctx.fix_ts(ep.last)),
        "duration_s": r1(ctx.track.t[ep.last] - ctx.track.t[ep.first]),
        "lon": float(ctx.track.lon[sl].mean()), "lat": float(ctx.track.lat[sl].mean()),
        "fix_count": ep.last - ep.first + 1, "fix_seqs": seqs(ctx, ep.first, ep.last),
        "verified": ctx.all_verified(ep.first, ep.last),
    }


def diversion(ctx: TripContext) -> list[FindingDraft]:
    out = []
    for ep in ctx.diversions:
        ev = place_evidence(ctx, ep)
        out.append(ctx.draft(
            "DIVERSION", CRITICAL, ctx.fix_ts(ep.first), ctx.fix_ts(ep.last), (ev["lon"], ev["lat"]),
            ev, ev["verified"], f"DIVERSION:{ep.place.id}:{iso(ctx.fix_ts(ep.first))}",
        ))
    return out


def restricted_zone_entry(ctx: TripContext) -> list[FindingDraft]:
    t = ctx.track.t
    out = []
    for place, idx in hits_by_place(ctx):
        if not (place.is_zone and place.kind == RESTRICTED):
            continue
        merged: list[list[int]] = []
        for first, last in consecutive_runs(idx):
            if merged and t[first] - t[merged[-1][1]] <= ctx.th.zone_reentry_merge_s:
                merged[-1][1] = last
            else:
                merged.append([first, last])
        for first, last in merged:
            ev = place_evidence(ctx, PlaceEpisode(place, first, last))
            ev["fix_count"] = int(np.count_nonzero((idx >= first) & (idx <= last)))
            out.append(ctx.draft(
                "RESTRICTED_ZONE_ENTRY", CRITICAL, ctx.fix_ts(first), ctx.fix_ts(last),
                ctx.fix_lonlat(first), ev, ev["verified"],
                f"RESTRICTED_ZONE_ENTRY:{place.id}:{iso(ctx.fix_ts(first))}",
            ))
    return out


# -- IMPOSSIBLE_JUMP ---------------------------------------------------------------------


def impossible_jump(ctx: TripContext) -> list[FindingDraft]:
    """Consecutive fixes implying > jump_max_kmh over > jump_min_m.

    Consecutive jumping steps (a glitch out and back) form one episode.
    """
    w0, w1, th = ctx.w0, ctx.w1, ctx.th
    if w1 - w0 < 2:
        return []
    tr = ctx.track
    xyz = tr.xyz[w0:w1]
    d = np.sqrt(np.einsum("ij,ij->i", xyz[1:] - xyz[:-1], xyz[1:] - xyz[:-1]))
    dt = np.diff(tr.t[w0:w1])
    with np.errstate(divide="ignore", invalid="ignore"):
        kmh = np.where(dt > 0, d / np.where(dt > 0, dt, 1) * 3.6, np.inf)
    jumps = (d > th.jump_min_m) & (kmh > th.jump_max_kmh)
    out = []
    for a, b in true_runs(jumps):
        first, last = w0 + a, w0 + b + 1  # fixes spanned by steps a..b
        steps = []
        for k in range(first, min(last, first + MAX_LISTED)):
            dist = float(geodesic_m(tr.lon[k], tr.lat[k], tr.lon[k + 1], tr.lat[k + 1]))
            secs = float(tr.t[k + 1] - tr.t[k])
            steps.append({
                "from_seq": tr.fixes[k].seq, "to_seq": tr.fixes[k + 1].seq,
                "from_ts": iso(tr.fixes[k].ts), "to_ts": iso(tr.fixes[k + 1].ts),
                "distance_m": r1(dist), "seconds": r1(secs),
                "speed_kmh": r1(dist / secs * 3.6) if secs > 0 else None,
            })
        evidence = {"steps": steps, "max_kmh": r1(th.jump_max_kmh), "min_m": r1(th.jump_min_m)}
        out.append(ctx.draft(
            "IMPOSSIBLE_JUMP", WARNING, ctx.fix_ts(first), ctx.fix_ts(last),
            ctx.fix_lonlat(first + 1), evidence, ctx.all_verified(first, last),
            f"IMPOSSIBLE_JUMP:{iso(ctx.fix_ts(first))}",
        ))
    return out


LIVE_RULES = (
    route_deviation,
    unauthorized_stop,
    load_drop,
    diversion,
    restricted_zone_entry,
    impossible_jump,
)
