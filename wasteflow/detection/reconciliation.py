"""Reconciliation rules (run when the manifest is received, again when late data arrives).

Each is `(TripContext) -> list[FindingDraft]`. Tonnage findings are `verified` when the
weigh tickets they compare are; the candidate dump locations listed in a shortfall's
evidence carry their own `verified` flags.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

from .context import TripContext
from .episodes import diversions, load_drops, unauthorized_stops
from .evidence import load_drop_evidence, place_evidence, r1, stop_evidence
from .geo import geodesic_m
from .model import CRITICAL, WARNING, FindingDraft, Ticket
from .rule import Rule
from .tolerance import tolerance_kg
from .track import iso


def gps_gap(ctx: TripContext) -> list[FindingDraft]:
    """Consecutive fixes (by event time, late ones included) >= gps_gap_s apart in the trip window.

    Only gaps between two fixes count: a terminal that never reports is NO_TRACK, and the
    time before the first / after the last fix is not a gap between fixes.
    """
    w0, w1 = ctx.w0, ctx.w1
    if w1 - w0 < 2:
        return []
    tr = ctx.track
    dt = np.diff(tr.t[w0:w1])
    out = []
    for k in (np.nonzero(dt >= ctx.th.gps_gap_s)[0] + w0).tolist():
        a, b = tr.fixes[k], tr.fixes[k + 1]
        evidence = {
            "gap_s": r1(tr.t[k + 1] - tr.t[k]),
            "threshold_s": r1(ctx.th.gps_gap_s),
            "before": {"seq": a.seq, "ts": iso(a.ts), "lon": a.lon, "lat": a.lat},
            "after": {"seq": b.seq, "ts": iso(b.ts), "lon": b.lon, "lat": b.lat},
            "distance_m": r1(geodesic_m(a.lon, a.lat, b.lon, b.lat)),
        }
        out.append(ctx.draft(
            "GPS_GAP", WARNING, a.ts, b.ts, (a.lon, a.lat), evidence, a.verified and b.verified,
            f"GPS_GAP:{iso(a.ts)}",
        ))
    return out


def no_track(ctx: TripContext) -> list[FindingDraft]:
    trip = ctx.trip
    if trip.received_at is None or ctx.w1 > ctx.w0:
        return []
    start = ctx.window.start_dt or trip.dispatched_at or trip.received_at
    evidence = {"window_start": iso(start), "window_end": iso(trip.received_at), "fixes_in_window": 0,
                "fixes_outside_window": len(ctx.track)}
    return [ctx.draft("NO_TRACK", CRITICAL, start, trip.received_at, None, evidence, True, "NO_TRACK")]


def never_arrived(ctx: TripContext) -> list[FindingDraft]:
    trip = ctx.trip
    w0, w1 = ctx.w0, ctx.w1
    if trip.received_at is None or w1 == w0 or ctx.arrived_mask[w0:w1].any():
        return []
    tr = ctx.track
    x, y = ctx.frame.xy_from_ecef(tr.xyz[w0:w1])
    rec_xy = ctx.receiver_xy
    ok = np.isfinite(x)
    d = np.full(x.shape, np.inf)
    if ok.any():
        d[ok] = shapely.distance(rec_xy, shapely.points(x[ok], y[ok]))
    closest = w0 + int(np.argmin(d))
    last = w1 - 1
    evidence = {
        "receiver_site_id": trip.receiver_site.id, "receiver_site_name": trip.receiver_site.name,
        "fixes_in_window": w1 - w0,
        "closest_approach_m": r1(d[closest - w0]) if np.isfinite(d[closest - w0]) else None,
        "closest_fix": {"seq": tr.fixes[closest].seq, "ts": iso(tr.fixes[closest].ts)},
        "last_fix": {"seq": tr.fixes[last].seq, "ts": iso(tr.fixes[last].ts),
                     "lon": tr.fixes[last].lon, "lat": tr.fixes[last].lat},
    }
    start = ctx.window.start_dt or tr.fixes[w0].ts
    return [ctx.draft(
        "NEVER_ARRIVED", CRITICAL, start, trip.received_at, ctx.fix_lonlat(last), evidence,
        ctx.all_verified(w0, w1 - 1), "NEVER_ARRIVED",
    )]


def _ticket(t: Ticket) -> dict:
    return {"ticket_no": t.ticket_no, "site_id": t.site_id, "net_kg": t.net_kg,
            "gross_kg": t.gross_kg, "tare_kg": t.tare_kg, "gross_at": iso(t.gross_at),
            "tare_at": iso(t.tare_at), "verified": t.verified}


def dump_candidates(ctx: TripContext) -> list[dict]:
    """Where the missing mass may have gone: load drops, unauthorized stops, diversions."""
    drops = [{"kind": "load_drop"} | load_drop_evidence(ctx, ep) for ep in load_drops(ctx)]
    stops = [{"kind": "unauthorized_stop"} | stop_evidence(ctx, ep) for ep in unauthorized_stops(ctx)]
    diverted = [{"kind": "diversion"} | place_evidence(ctx, ep) for ep in diversions(ctx)]
    return drops + sorted(stops, key=lambda s: -s["duration_s"]) + diverted


def tonnage(ctx: TripContext) -> list[FindingDraft]:
    trip = ctx.trip
    if trip.departure_ticket is None or trip.arrival_ticket is None:
        return []
    return tonnage_between(ctx, trip.departure_ticket, trip.arrival_ticket, lambda: dump_candidates(ctx))


def tonnage_between(ctx: TripContext, dep: Ticket, arr: Ticket, candidates: Callable[[], list[dict]],
                    suffix: str = "", named: dict | None = None) -> list[FindingDraft]:
    """TONNAGE_SHORTFALL or TONNAGE_SURPLUS between two weighings of the load: the departure and the
    arrival, or (multi-leg) the tickets around one leg — ``named`` then says which leg, ``suffix``
    keeps its episode apart from the others'. ``candidates`` is only asked for on a shortfall."""
    tol = tolerance_kg(dep.net_kg, ctx.trip.tolerance_pct, ctx.th)
    diff = arr.net_kg - dep.net_kg
    start, end = sorted((dep.gross_at, arr.gross_at))
    evidence = {
        "departure_net_kg": dep.net_kg, "arrival_net_kg": arr.net_kg, "difference_kg": diff,
        "tolerance_kg": r1(tol), "tolerance_pct": ctx.trip.tolerance_pct if ctx.trip.tolerance_pct is not None
        else ctx.th.tolerance_pct, "departure_ticket": _ticket(dep), "arrival_ticket": _ticket(arr),
    } | (named or {})
    verified = dep.verified and arr.verified
    if diff < -tol:
        evidence["candidates"] = candidates()
        located = [c for c in evidence["candidates"] if c.get("lon") is not None]
        location = (located[0]["lon"], located[0]["lat"]) if located else None
        return [ctx.draft("TONNAGE_SHORTFALL", CRITICAL, start, end, location, evidence, verified,
                          "TONNAGE_SHORTFALL" + suffix)]
    if diff > tol:
        return [ctx.draft("TONNAGE_SURPLUS", WARNING, start, end, None, evidence, verified,
                          "TONNAGE_SURPLUS" + suffix)]
    return []


def declaration_mismatch(ctx: TripContext) -> list[FindingDraft]:
    trip, dep = ctx.trip, ctx.trip.departure_ticket
    if dep is None or trip.declared_kg <= 0:
        return []
    diff = dep.net_kg - trip.declared_kg
    limit = trip.declared_kg * ctx.th.declaration_mismatch_pct / 100.0
    if abs(diff) <= limit:
        return []
    evidence = {"declared_kg": trip.declared_kg, "departure_net_kg": dep.net_kg, "difference_kg": diff,
                "difference_pct": round(100.0 * diff / trip.declared_kg, 2),
                "limit_pct": ctx.th.declaration_mismatch_pct, "departure_ticket": _ticket(dep)}
    at = max(dep.gross_at, dep.tare_at)
    return [ctx.draft("DECLARATION_MISMATCH", WARNING, at, at, None, evidence, dep.verified,
                      "DECLARATION_MISMATCH")]


def acceptance_mismatch(ctx: TripContext) -> list[FindingDraft]:
    trip, arr = ctx.trip, ctx.trip.arrival_ticket
    if arr is None or trip.accepted_kg is None:
        return []
    base = trip.departure_ticket.net_kg if trip.departure_ticket else arr.net_kg
    tol = tolerance_kg(base, trip.tolerance_pct, ctx.th)
    diff = trip.accepted_kg + trip.refused_kg - arr.net_kg  # a partial refusal: accepted + refused
    if abs(diff) <= tol:
        return []
    evidence = {"accepted_kg": trip.accepted_kg, "refused_kg": trip.refused_kg, "arrival_net_kg": arr.net_kg,
                "difference_kg": diff, "tolerance_kg": r1(tol), "arrival_ticket": _ticket(arr)}
    start = arr.gross_at
    end = max(trip.received_at or arr.tare_at, start)
    return [ctx.draft("ACCEPTANCE_MISMATCH", WARNING, start, end, None, evidence, arr.verified,
                      "ACCEPTANCE_MISMATCH")]


def missing_ticket(ctx: TripContext) -> list[FindingDraft]:
    trip = ctx.trip
    if trip.received_at is None:
        return []
    missing = [name for name, t in (("departure", trip.departure_ticket), ("arrival", trip.arrival_ticket))
               if t is None]
    if not missing:
        return []
    start = trip.dispatched_at or trip.received_at
    return [ctx.draft("MISSING_TICKET", WARNING, min(start, trip.received_at), trip.received_at, None,
                      {"missing": missing}, True, "MISSING_TICKET")]


TRACK_RULES = (
    Rule(("GPS_GAP",), gps_gap),
    Rule(("NO_TRACK",), no_track),
    Rule(("NEVER_ARRIVED",), never_arrived),
)
"""The reconciliation rules that read one vehicle's track: run per leg on a multi-leg load."""
TONNAGE_RULE = Rule(("TONNAGE_SHORTFALL", "TONNAGE_SURPLUS"), tonnage)
LOAD_RULES = (
    Rule(("DECLARATION_MISMATCH",), declaration_mismatch),
    Rule(("ACCEPTANCE_MISMATCH",), acceptance_mismatch),
    Rule(("MISSING_TICKET",), missing_ticket),
)
"""The rules about the load's paperwork as a whole (the departure and arrival tickets, the receipt)."""

RECONCILIATION_RULES = TRACK_RULES + (TONNAGE_RULE,) + LOAD_RULES
