"""The live rules: one function per finding code, each `(TripContext) -> list[FindingDraft]`.

Episode keys (the identity the caller uses to grow a stored finding instead of duplicating
it) are built from the event time of the episode's first fix or reading — for a stop, of the
fix that proved it (stops.py: its start may settle earlier as it grows) — plus the place for
place-bound codes. Appending later fixes only extends an episode, so its key is stable.
A late batch that inserts fixes *before* an episode's first fix can move its start and thus
its key; `pipeline.carry_episode_keys` re-attaches such a draft to the stored episode it
overlaps (same code and place), so the caller keeps one finding per episode.

Where an episode is found lives in :mod:`.episodes`, what it carries as evidence in
:mod:`.evidence`; a rule here joins the two into drafts.
"""

from __future__ import annotations

import numpy as np

from .context import TripContext
from .episodes import PlaceEpisode, diversions, hits_by_place, load_drops, unauthorized_stops
from .evidence import MAX_LISTED, load_drop_evidence, place_evidence, r1, seqs, stop_evidence
from .geo import distances_beyond_corridor, geodesic_m
from .model import CRITICAL, WARNING, FindingDraft
from .places import RESTRICTED
from .rule import Rule
from .runs import consecutive_runs, true_runs
from .track import iso

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


def unauthorized_stop(ctx: TripContext) -> list[FindingDraft]:
    out = []
    for ep in unauthorized_stops(ctx):
        s = ep.stop
        evidence = stop_evidence(ctx, ep) | {"radius_m": r1(ctx.th.stop_radius_m)}
        out.append(ctx.draft(
            "UNAUTHORIZED_STOP", WARNING, s.start, s.end, (s.lon, s.lat), evidence, s.verified,
            f"UNAUTHORIZED_STOP:{iso(ctx.fix_ts(ep.anchor))}",
        ))
    return out


# -- LOAD_DROP ---------------------------------------------------------------------------


def load_drop(ctx: TripContext) -> list[FindingDraft]:
    out = []
    for ep in load_drops(ctx):
        readings = ctx.loads.readings[ep.first : ep.last + 1]
        evidence = load_drop_evidence(ctx, ep)
        out.append(ctx.draft(
            "LOAD_DROP", CRITICAL, readings[0].ts, readings[-1].ts, ep.location, evidence,
            ep.verified, f"LOAD_DROP:{iso(readings[0].ts)}",
        ))
    return out


# -- DIVERSION and RESTRICTED_ZONE_ENTRY ---------------------------------------------------


def diversion(ctx: TripContext) -> list[FindingDraft]:
    out = []
    for ep in diversions(ctx):
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
    Rule(("ROUTE_DEVIATION",), route_deviation),
    Rule(("UNAUTHORIZED_STOP",), unauthorized_stop),
    Rule(("LOAD_DROP",), load_drop),
    Rule(("DIVERSION",), diversion),
    Rule(("RESTRICTED_ZONE_ENTRY",), restricted_zone_entry),
    Rule(("IMPOSSIBLE_JUMP",), impossible_jump),
)
