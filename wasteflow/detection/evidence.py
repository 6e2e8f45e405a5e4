"""Evidence builders: the numbers and references a finding carries, from an episode.

Shared by the live rules (the finding itself) and reconciliation (a shortfall lists the
trip's stops, drops and diversions as candidate dump locations with the same evidence).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .context import TripContext
from .episodes import LoadDropEpisode, PlaceEpisode, StopEpisode
from .stays import max_gap_s
from .track import iso

MAX_LISTED = 100  # evidence lists of seqs are capped at this length


def r1(x: float) -> float:
    return round(float(x), 1)


def seqs(ctx: TripContext, first: int, last: int) -> list[int]:
    return [f.seq for f in ctx.track.fixes[first : min(last + 1, first + MAX_LISTED)]]


def gap_evidence(ctx: TripContext, outliers: int, max_gap: float) -> dict[str, Any]:
    """How solid a stay is: the stray fixes it absorbed, and whether it was inferred across a
    gap in the fixes (findings.md, "evidence across gaps")."""
    return {"outliers": outliers, "max_gap_s": r1(max_gap), "across_gap": bool(max_gap > ctx.th.stay_gap_s)}


def stop_evidence(ctx: TripContext, ep: StopEpisode) -> dict[str, Any]:
    s = ep.stop
    return {
        "start": iso(s.start), "end": iso(s.end), "duration_s": r1(s.duration_s),
        "lon": s.lon, "lat": s.lat, "fix_count": s.fix_count,
        "first_seq": s.first_seq, "last_seq": s.last_seq,
        "distance_to_generator_m": r1(ep.to_generator_m) if np.isfinite(ep.to_generator_m) else None,
        "distance_to_receiver_m": r1(ep.to_receiver_m) if np.isfinite(ep.to_receiver_m) else None,
        "verified": s.verified,
    } | gap_evidence(ctx, s.outliers, s.max_gap_s)


def load_drop_evidence(ctx: TripContext, ep: LoadDropEpisode) -> dict[str, Any]:
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


def place_evidence(ctx: TripContext, ep: PlaceEpisode) -> dict[str, Any]:
    sl = slice(ep.first, ep.last + 1)
    inside = ep.members if ep.members is not None else np.ones(ep.last - ep.first + 1, bool)
    evidence = {
        "place_id": ep.place.id, "place_name": ep.place.name, "place_kind": ep.place.kind,
        "enterprise_id": ep.place.enterprise_id,
        "start": iso(ctx.fix_ts(ep.first)), "end": iso(ctx.fix_ts(ep.last)),
        "duration_s": r1(ctx.track.t[ep.last] - ctx.track.t[ep.first]),
        "lon": float(ctx.track.lon[sl][inside].mean()), "lat": float(ctx.track.lat[sl][inside].mean()),
        "fix_count": int(np.count_nonzero(inside)), "fix_seqs": seqs(ctx, ep.first, ep.last),
        "verified": ctx.all_verified(ep.first, ep.last),
    }
    if ep.places:
        evidence["sites"] = [{"place_id": p.id, "place_name": p.name, "place_kind": p.kind,
                              "enterprise_id": p.enterprise_id} for p in ep.places]
        evidence |= gap_evidence(ctx, int(inside.size - np.count_nonzero(inside)),
                                 max_gap_s(ctx.track.t, ep.first, ep.last))
    return evidence
