"""What the system made of the day, read back through the API, and judged against ground truth."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from simulators import scenarios as sc
from simulators.fleet import Plan, TripPlan
from simulators.runner import Api, Registry

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Check:
    code: str
    expected: sc.Expectation
    finding: dict | None = None
    distance_m: float | None = None
    time_error_s: float | None = None

    @property
    def found(self) -> bool:
        return self.finding is not None

    @property
    def ok(self) -> bool:
        return (self.found and (self.distance_m is None or self.distance_m <= sc.LOCATION_TOLERANCE_M)
                and (self.time_error_s is None or self.time_error_s <= sc.TIME_TOLERANCE_S))


@dataclass
class Verdict:
    trip: TripPlan
    checks: list[Check]
    findings: list[dict]  # every raised (not withdrawn) finding of the manifest

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def extra(self) -> list[dict]:
        must = {c.code for c in self.checks}
        return [f for f in self.findings if f["code"] not in must]

    @property
    def unexpected(self) -> list[dict]:
        """Findings above info that the scenario neither requires nor allows."""
        allowed = set(self.trip.scenario.must) | set(self.trip.scenario.may)
        return [f for f in self.findings if f["code"] not in allowed and SEVERITY_RANK[f["severity"]] > 0]


@dataclass
class Outcome:
    plan: Plan
    manifests: list[dict]
    findings: list[dict]  # all, withdrawn included
    tracks: dict[str, dict] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    clean_flagged: list[tuple[TripPlan, dict]] = field(default_factory=list)
    quarantined: int = 0

    @property
    def raised(self) -> list[dict]:
        return [f for f in self.findings if f["status"] != "withdrawn"]

    @property
    def by_manifest(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = defaultdict(list)
        for f in self.raised:
            out[f["manifest_no"]].append(f)
        return out

    @property
    def codes(self) -> Counter:
        return Counter(f["code"] for f in self.raised)

    @property
    def all_found(self) -> bool:
        return all(v.ok for v in self.verdicts)

    @property
    def clean_ok(self) -> bool:
        return not self.clean_flagged

    def tonnage(self) -> dict:
        out = {"declared_kg": 0, "departed_kg": 0, "arrived_kg": 0, "accepted_kg": 0, "in_transit_kg": 0,
               "reconciled": 0, "received_trips_departed_kg": 0}
        for m in self.manifests:
            dep = (m.get("departure_ticket") or {}).get("net_kg")
            arr = (m.get("arrival_ticket") or {}).get("net_kg")
            out["declared_kg"] += m["declared_kg"]
            out["departed_kg"] += dep or 0
            out["arrived_kg"] += arr or 0
            out["accepted_kg"] += m.get("accepted_kg") or 0
            if m["status"] in ("received", "reconciled"):
                out["received_trips_departed_kg"] += dep or 0
            if m["status"] == "reconciled":
                out["reconciled"] += 1
            if m["status"] in ("dispatched", "in_transit", "arrived"):
                out["in_transit_kg"] += dep or m["declared_kg"]
        return out


def collect(api: Api, registry: Registry, plan: Plan, track_for: set[str] | None = None) -> Outcome:
    key = registry.regulator_key
    numbers = {t.manifest_no for t in plan.trips if t.manifest_no}
    listed = [m["manifest_no"] for m in api.pages("/v1/manifests", key, limit=500) if m["manifest_no"] in numbers]
    manifests = [api.get(f"/v1/manifests/{no}", key) for no in listed]  # the detail carries the tickets
    findings = [f for f in api.pages("/v1/findings", key, limit=500)
                if f.get("manifest_no") in numbers or f.get("manifest_no") is None]
    outcome = Outcome(plan, sorted(manifests, key=lambda m: m["manifest_no"]), findings)
    judge(outcome)
    wanted = set(track_for or ())
    wanted |= {v.trip.manifest_no for v in outcome.verdicts if v.trip.manifest_no}
    wanted |= {no for no, fs in outcome.by_manifest.items() if no and any(SEVERITY_RANK[f["severity"]] > 0 for f in fs)}
    for no in sorted(wanted):
        outcome.tracks[no] = api.get(f"/v1/manifests/{no}/track", key)
    try:
        counts = api.get("/v1/quarantine/counts", key)
        outcome.quarantined = sum(counts.values()) if isinstance(counts, dict) and all(
            isinstance(v, int) for v in counts.values()) else 0
    except Exception:  # an optional extra: the report does without it
        outcome.quarantined = 0
    return outcome


def judge(outcome: Outcome) -> None:
    by_manifest = outcome.by_manifest
    outcome.verdicts, outcome.clean_flagged = [], []
    for trip in outcome.plan.trips:
        found = by_manifest.get(trip.manifest_no, []) if trip.manifest_no else []
        if not trip.scenario.is_violation:
            outcome.clean_flagged += [(trip, f) for f in found if SEVERITY_RANK[f["severity"]] > 0]
            continue
        checks = []
        for exp in trip.truth.expectations:
            candidates = [f for f in found if f["code"] == exp.code]
            best, best_score = None, None
            for f in candidates:
                d = haversine_m(exp.location, tuple(f["location"]["coordinates"])) \
                    if exp.location and f.get("location") else None
                start = parse_time((f.get("window") or {}).get("start"))
                dt = abs((start - exp.at).total_seconds()) if exp.at and start else None
                score = (d or 0) + (dt or 0)
                if best_score is None or score < best_score:
                    best, best_score = (f, d, dt), score
            check = Check(exp.code, exp)
            if best:
                check.finding, check.distance_m, check.time_error_s = best
                if exp.location and check.distance_m is None:
                    check.distance_m = math.inf  # a place was expected, none was given
            checks.append(check)
        outcome.verdicts.append(Verdict(trip, checks, found))
