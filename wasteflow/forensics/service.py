"""Dump-site forensics and hotspots: the queries around the pure rules (rules.py, hotspots.py).

A dump-site question reads only the fixes near the place — a bounding box on the (lat, lon, ts)
index, then the exact distance — and then, for each vehicle seen there, the trips it was on
(the one definition of a trip's telemetry, tracks.windows) and what each trip carried. A
regulator sees the passages on manifests in its jurisdiction (manifests.service.visible) and, for
a vehicle on none of them, the vehicles it may see (registry.service.visible_vehicles).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal
from wasteflow.detection.pipeline import loaded_window
from wasteflow.errors import RuleViolation
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.forensics import rules
from wasteflow.forensics.hotspots import Located, hotspots
from wasteflow.forensics.rules import NearFix, Passage
from wasteflow.forensics.schemas import DumpSiteQuery
from wasteflow.manifests import service as manifests
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.monitoring.monitor import Monitor
from wasteflow.monitoring.trips import load_trip
from wasteflow.registry.models import Device, Vehicle
from wasteflow.registry.service import visible_vehicles
from wasteflow.tracks import service as tracks
from wasteflow.tracks.models import GpsFix
from wasteflow.tracks.windows import LONGEST

DEFAULT_PERIOD = timedelta(days=30)
LOAD_MARGIN = timedelta(minutes=5)
"""Load readings this long either side of a passage count towards a drop there."""
HOTSPOT_CODES = ("UNAUTHORIZED_STOP", "LOAD_DROP", "DIVERSION")
CLOSED = ("withdrawn", "dismissed")


class Place:
    """The dump: its centre and radius, and the distance of a fix from it."""

    def __init__(self, lon: float, lat: float, radius_m: float):
        self.lon, self.lat, self.radius_m = lon, lat, radius_m

    def distance(self, lon: float, lat: float) -> float:
        return rules.distance_m(self.lon, self.lat, lon, lat)

    def holds(self, lon: float, lat: float) -> bool:
        return self.distance(lon, lat) <= self.radius_m


def period(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = end or now
    start = start or end - DEFAULT_PERIOD
    if end < start:
        raise RuleViolation("to_before_from", "to", "'to' lies before 'from'")
    return start, end


def dump_site(session: Session, principal: Principal, query: DumpSiteQuery, monitor: Monitor,
              now: datetime) -> dict:
    """Every passage near the dump in the period, ranked, and how many manifests had no track to judge."""
    principal.require_oversight()
    start, end = period(query.from_, query.to, now)
    place = Place(query.location.coordinates[0], query.location.coordinates[1], query.radius_m)
    passages: list[Passage] = []
    for vehicle_id, near in nearby(session, place, start, end).items():
        passages += vehicle_passages(session, principal, monitor, place, vehicle_id, near)
    return {"passages": [public(p) for p in rules.ranked(passages)],
            "no_track": no_track(session, principal, start, end)}


def nearby(session: Session, place: Place, start: datetime, end: datetime) -> dict[int, list[NearFix]]:
    """The registered vehicles' fixes within the radius in the period, per vehicle, in time order."""
    west, south, east, north = rules.bounding_box(place.lon, place.lat, place.radius_m)
    rows = session.execute(
        select(GpsFix.ts, GpsFix.lon, GpsFix.lat, GpsFix.seq, GpsFix.device_id, GpsFix.verified, GpsFix.speed_kmh,
               Device.vehicle_id)
        .join(Device, col(Device.id) == col(GpsFix.device_id))
        .where(col(GpsFix.lat).between(south, north), col(GpsFix.lon).between(west, east),
               col(GpsFix.ts) >= start, col(GpsFix.ts) <= end, col(Device.vehicle_id).is_not(None))
        .order_by(col(GpsFix.ts))).all()
    out: dict[int, list[NearFix]] = defaultdict(list)
    for row in rows:
        if place.holds(row.lon, row.lat):
            out[row.vehicle_id].append(NearFix(row.ts, row.lon, row.lat, row.seq, row.device_id, row.verified,
                                               row.speed_kmh))
    return out


def candidate_manifests(session: Session, vehicle_id: int, near: Sequence[NearFix]) -> list[Manifest]:
    """The manifests whose windows could hold the vehicle's fixes: started (dispatched, or taken over on a
    later leg) within 48 h 30 min before the first fix, and by 30 min after the last."""
    earliest = near[0].ts - LONGEST - tracks.TRIP_MARGIN
    latest = near[-1].ts + tracks.TRIP_MARGIN
    legs = select(ManifestLeg.manifest_id).where(
        ManifestLeg.vehicle_id == vehicle_id, col(ManifestLeg.handed_over_at).between(earliest, latest))
    return list(session.exec(select(Manifest).where(
        col(Manifest.dispatched_at).is_not(None), col(Manifest.dispatched_at) <= latest,
        or_(and_(Manifest.vehicle_id == vehicle_id, col(Manifest.dispatched_at) >= earliest),
            col(Manifest.id).in_(legs)))
        .order_by(col(Manifest.dispatched_at))).all())


def assign(session: Session, vehicle_id: int, near: Sequence[NearFix]) -> tuple[dict[int, list[NearFix]],
                                                                                  list[NearFix], dict[int, Manifest]]:
    """The near fixes by the manifest whose trip window (for this vehicle) holds them, and those on none."""
    by_manifest: dict[int, list[NearFix]] = defaultdict(list)
    loose: list[NearFix] = []
    known: dict[int, Manifest] = {}
    spans = []
    for manifest in candidate_manifests(session, vehicle_id, near):
        known[manifest.id] = manifest
        spans += [(w, manifest.id) for w in tracks.windows(session, manifest) if w.vehicle_id == vehicle_id]
    for fix in near:
        owner = next((mid for window, mid in spans if window.contains(fix.ts)), None)
        (by_manifest[owner] if owner is not None else loose).append(fix)
    return by_manifest, loose, known


def vehicle_passages(session: Session, principal: Principal, monitor: Monitor, place: Place, vehicle_id: int,
                     near: list[NearFix]) -> list[Passage]:
    """The vehicle's passages: per manifest the caller may see (loaded and unloaded apart), and one on none."""
    plate = session.exec(select(Vehicle.plate).where(Vehicle.id == vehicle_id)).one()
    by_manifest, loose, known = assign(session, vehicle_id, near)
    seen = set(session.exec(manifests.visible(select(Manifest.id), principal)
                            .where(col(Manifest.id).in_(list(by_manifest)))).all())
    out = []
    for manifest_id, fixes in by_manifest.items():
        if manifest_id in seen:
            out += manifest_passages(session, principal, monitor, place, known[manifest_id], fixes)
    if loose and session.exec(visible_vehicles(select(Vehicle.id), principal).where(Vehicle.id == vehicle_id)).first():
        out.append(passage(place, None, plate, False, loose, loose, []))
    return out


def manifest_passages(session: Session, principal: Principal, monitor: Monitor, place: Place,
                      manifest: Manifest, near: list[NearFix]) -> list[Passage]:
    """The manifest's passages: its trip read as detection reads it (loaded from the departure until the
    vehicle enters the receiving site), the near fixes split by whether the vehicle was loaded."""
    trip = load_trip(session, manifest, monitor.places)
    window = loaded_window(trip)

    def loaded(ts: datetime) -> bool:
        return window is not None and window[0] <= ts and (window[1] is None or ts < window[1])

    track = sorted((NearFix(f.ts, f.lon, f.lat, f.seq, f.device_id, f.verified, f.speed_kmh) for f in trip.fixes),
                   key=lambda f: f.ts)
    loads = sorted(((r.ts, r.load_kg) for r in trip.loads), key=lambda r: r[0])
    related = related_findings(session, principal, manifest.manifest_no, place)
    out = []
    for flag in (True, False):
        mine = [f for f in near if loaded(f.ts) == flag]
        if mine:
            span = around([f for f in track if loaded(f.ts) == flag], mine[0].ts, mine[-1].ts)
            out.append(passage(place, manifest.manifest_no, manifest.vehicle_plate, flag, mine, span, loads,
                               related, monitor))
    return out


def passage(place: Place, manifest_no: str | None, plate: str, loaded: bool, near: list[NearFix],
            span: list[NearFix], loads: Sequence[tuple[datetime, int]], related: Sequence[Finding] = (),
            monitor: Monitor | None = None) -> Passage:
    """One passage's figures: ``near`` are its fixes within the radius, ``span`` the track from the first
    to the last of them (to time the stay and find the stops), ``loads`` the trip's load readings."""
    inside = [place.holds(f.lon, f.lat) for f in span]
    around = [r for r in loads if near[0].ts - LOAD_MARGIN <= r[0] <= near[-1].ts + LOAD_MARGIN]
    fall, from_kg = rules.largest_fall(around)
    closest = min(place.distance(f.lon, f.lat) for f in near)
    th = monitor.thresholds if monitor is not None else None
    dropped = loaded and (
        (th is not None and rules.significant_drop(fall, from_kg, th.load_drop_pct, th.load_drop_min_kg))
        or any(f.code == "LOAD_DROP" for f in related))
    shortfalls = [-int(f.evidence.get("difference_kg", 0)) for f in related if f.code == "TONNAGE_SHORTFALL"]
    return Passage(
        manifest_no=manifest_no, plate=plate, loaded=loaded, enter=near[0].ts, leave=near[-1].ts,
        seconds_within=rules.seconds_within(span, place.lon, place.lat, place.radius_m), closest_m=round(closest, 1),
        longest_stop_s=rules.longest_stop_s(span, inside), load_drop_kg=fall, dropped=dropped,
        shortfall_kg=max(shortfalls) if shortfalls else None,
        fixes=[{"ts": f.ts, "lon": f.lon, "lat": f.lat, "speed_kmh": f.speed_kmh, "verified": f.verified,
                "distance_m": round(place.distance(f.lon, f.lat), 1)} for f in near],
        findings=[{"id": f.id, "code": f.code, "severity": f.severity, "status": f.status} for f in related])


def around(track: list[NearFix], first: datetime, last: datetime) -> list[NearFix]:
    """The track from the fix before ``first`` to the fix after ``last``: the passage with its way in and out."""
    inside = [i for i, f in enumerate(track) if first <= f.ts <= last]
    if not inside:
        return []
    return track[max(0, inside[0] - 1):inside[-1] + 2]


def related_findings(session: Session, principal: Principal, manifest_no: str, place: Place) -> list[Finding]:
    """The manifest's findings the caller may see that bear on the place: those located within the radius,
    and its tonnage shortfall. Withdrawn ones are gone."""
    rows = session.exec(findings.visible(select(Finding), principal).where(
        Finding.manifest_no == manifest_no, Finding.status != "withdrawn").order_by(col(Finding.id))).all()
    return [f for f in rows if f.code == "TONNAGE_SHORTFALL" or _located_within(f, place)]


def _located_within(finding: Finding, place: Place) -> bool:
    point = (finding.location or {}).get("coordinates")
    return bool(point) and place.holds(point[0], point[1])


def public(p: Passage) -> dict:
    return {"manifest_no": p.manifest_no, "plate": p.plate, "loaded": p.loaded, "enter": p.enter, "leave": p.leave,
            "seconds_within": p.seconds_within, "closest_m": p.closest_m, "longest_stop_s": p.longest_stop_s,
            "load_drop_kg": p.load_drop_kg, "shortfall_kg": p.shortfall_kg, "fixes": p.fixes,
            "findings": p.findings, "rank": p.rank}


def no_track(session: Session, principal: Principal, start: datetime, end: datetime) -> int:
    """The manifests the caller may see that were under way in the period (dispatched, not yet received
    or rejected) with not one fix of their vehicle while under way in it: nothing to judge them by.
    A manifest left open is judged by its first 48 h (findings.md, a trip's telemetry)."""
    closed = func.coalesce(Manifest.received_at, Manifest.rejected_at, end)
    tracked = exists(select(GpsFix.device_id).join(Device, col(Device.id) == col(GpsFix.device_id)).where(
        Device.vehicle_id == Manifest.vehicle_id, col(GpsFix.ts) >= Manifest.dispatched_at, col(GpsFix.ts) >= start,
        col(GpsFix.ts) <= closed, col(GpsFix.ts) <= end))
    query = manifests.visible(select(func.count(col(Manifest.id))), principal).where(
        col(Manifest.dispatched_at).is_not(None), col(Manifest.dispatched_at) <= end,
        col(Manifest.dispatched_at) >= start - LONGEST, closed >= start, ~tracked)
    return int(session.exec(query).one())


def hotspot_list(session: Session, principal: Principal, start: datetime, end: datetime,
                 codes: Sequence[str], settings) -> list[dict]:
    """The hotspots among the caller's located stop, load-drop and diversion findings in the period."""
    principal.require_oversight()
    unknown = sorted(set(codes) - set(HOTSPOT_CODES))
    if unknown:
        raise RuleViolation("hotspot_code", "code", f"hotspots cluster {', '.join(HOTSPOT_CODES)}; not {unknown[0]}")
    rows = session.execute(findings.visible(select(Finding.id, Finding.location, Finding.plate,
                                                   Finding.window_start), principal).where(
        col(Finding.code).in_(list(codes) or HOTSPOT_CODES), col(Finding.status).not_in(CLOSED),
        col(Finding.window_start) >= start, col(Finding.window_start) <= end,
        col(Finding.location).is_not(None))).all()
    points = [Located(r.id, r.location["coordinates"][0], r.location["coordinates"][1], r.plate, r.window_start)
              for r in rows if r.location and r.location.get("coordinates")]
    return [{"center": {"type": "Point", "coordinates": [round(h.lon, 6), round(h.lat, 6)]},
             "radius_m": round(h.radius_m, 1), "findings": len(h.finding_ids), "vehicles": h.vehicles,
             "first_seen": h.first_seen, "last_seen": h.last_seen, "finding_ids": h.finding_ids}
            for h in hotspots(points, settings.hotspot_link_m, settings.hotspot_min_vehicles,
                              settings.hotspot_min_findings)]
