"""Dump-site forensics and hotspots: the queries around the pure rules (rules.py, hotspots.py).

A dump-site question reads only the fixes near the place — a bounding box on the (lat, lon, ts)
index, then the exact distance — and then, for each vehicle seen there, the trips it was on
(the one definition of a trip's telemetry, tracks.windows) and what each trip carried. A
regulator sees the passages on manifests in its jurisdiction (manifests.service.visible) and, for
a vehicle on none of them, the vehicles it may see (registry.service.visible_vehicles).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal
from wasteflow.detection.model import Fix, Trip
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
from wasteflow.monitoring.trips import site_place
from wasteflow.registry.models import Device, Site, Vehicle
from wasteflow.registry.service import visible_vehicles
from wasteflow.tracks import service as tracks
from wasteflow.tracks.models import GpsFix, LoadReading
from wasteflow.tracks.windows import LONGEST, Leg, trip_windows

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
        sa_select(col(GpsFix.ts), col(GpsFix.lon), col(GpsFix.lat), col(GpsFix.seq), col(GpsFix.device_id),
                  col(GpsFix.verified), col(GpsFix.speed_kmh), col(Device.vehicle_id))
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


def leg_starts(session: Session, vehicle_id: int, near: Sequence[NearFix]) -> list[tuple[datetime, int]]:
    """(start, manifest id) of every leg the vehicle started (a dispatch, or a takeover by handover) from
    48 h 30 min before its first near fix to 30 min after its last, in time order: a window lies within
    that span of its start (tracks.windows)."""
    earliest = near[0].ts - LONGEST - tracks.TRIP_MARGIN
    latest = near[-1].ts + tracks.TRIP_MARGIN
    dispatches = session.execute(select(Manifest.dispatched_at, Manifest.id).where(
        Manifest.vehicle_id == vehicle_id, col(Manifest.dispatched_at).between(earliest, latest))).all()
    takeovers = session.execute(select(ManifestLeg.handed_over_at, ManifestLeg.manifest_id).where(
        ManifestLeg.vehicle_id == vehicle_id, col(ManifestLeg.handed_over_at).between(earliest, latest))).all()
    return sorted((row[0], row[1]) for row in (*dispatches, *takeovers))


def hits(starts: Sequence[tuple[datetime, int]], near: Sequence[NearFix]) -> list[int]:
    """The manifests whose window may hold one of the fixes: a window ends by the vehicle's next start on
    another manifest, so only the last few legs started by 30 min after a fix can hold it."""
    times = [start for start, _ in starts]
    out: dict[int, None] = {}
    for fix in near:
        i = bisect_right(times, fix.ts + tracks.TRIP_MARGIN)
        for _, manifest_id in starts[max(0, i - 3):i]:
            out[manifest_id] = None
    return list(out)


def assign(session: Session, vehicle_id: int, near: Sequence[NearFix]) -> tuple[dict[int, list[NearFix]],
                                                                                  list[NearFix], dict]:
    """The near fixes by the manifest whose trip window (for this vehicle) holds them, and those on none;
    and each such manifest with its windows."""
    by_manifest: dict[int, list[NearFix]] = defaultdict(list)
    loose: list[NearFix] = []
    known: dict[int, tuple[Manifest, list]] = {}
    spans = []
    starts = leg_starts(session, vehicle_id, near)
    ids = hits(starts, near)
    relayed = set(session.exec(select(ManifestLeg.manifest_id).where(
        col(ManifestLeg.manifest_id).in_(ids), col(ManifestLeg.handed_over_at).is_not(None))).all())
    for manifest in session.exec(select(Manifest).where(col(Manifest.id).in_(ids))
                                 .order_by(col(Manifest.dispatched_at))).all():
        trip_windows = tracks.windows(session, manifest) if manifest.id in relayed else \
            single_leg_windows(session, manifest, starts)
        assert manifest.id is not None
        known[manifest.id] = (manifest, trip_windows)
        spans += [(w, manifest.id) for w in trip_windows if w.vehicle_id == vehicle_id]
    for fix in near:
        owner = next((mid for window, mid in spans if window.contains(fix.ts)), None)
        (by_manifest[owner] if owner is not None else loose).append(fix)
    return by_manifest, loose, known


def single_leg_windows(session: Session, manifest: Manifest, starts: Sequence[tuple[datetime, int]]) -> list:
    """tracks.windows for a manifest carried by one vehicle, its next start elsewhere read from the starts
    already at hand (asked of the store only when it lies beyond them)."""
    dispatched = manifest.dispatched_at
    assert dispatched is not None, "only dispatched manifests are candidates"
    later = [start for start, mid in starts if mid != manifest.id and start > dispatched]
    following = min(later) if later else tracks.next_start(session, manifest.vehicle_id, manifest.id, dispatched)
    return trip_windows([Leg(manifest.vehicle_id, dispatched, manifest.received_at or manifest.rejected_at,
                             following)])


def vehicle_passages(session: Session, principal: Principal, monitor: Monitor, place: Place, vehicle_id: int,
                     near: list[NearFix]) -> list[Passage]:
    """The vehicle's passages: per manifest the caller may see (loaded and unloaded apart), and one on none."""
    plate = session.exec(select(Vehicle.plate).where(Vehicle.id == vehicle_id)).one()
    by_manifest, loose, known = assign(session, vehicle_id, near)
    seen = set(session.exec(manifests.visible(select(Manifest.id), principal)
                            .where(col(Manifest.id).in_(list(by_manifest)))).all())
    related = related_findings(session, principal, [known[m][0].manifest_no for m in seen], place)
    out = []
    for manifest_id, fixes in by_manifest.items():
        if manifest_id in seen:
            manifest, trip_windows = known[manifest_id]
            out += manifest_passages(session, monitor, place, manifest, trip_windows, fixes,
                                     related.get(manifest.manifest_no, []))
    if loose and session.exec(visible_vehicles(select(Vehicle.id), principal).where(Vehicle.id == vehicle_id)).first():
        out.append(passage(place, None, plate, False, loose, loose, []))
    return out


def manifest_passages(session: Session, monitor: Monitor, place: Place, manifest: Manifest, trip_windows: list,
                      near: list[NearFix], related: list[Finding]) -> list[Passage]:
    """The manifest's passages: its trip read as detection reads it (loaded from the departure until the
    vehicle enters the receiving site), the near fixes split by whether the vehicle was loaded."""
    leave = near[-1].ts + LOAD_MARGIN
    track = trip_track(session, trip_windows, leave)
    window = loaded_window(detection_trip(session, monitor, manifest, track))

    def loaded(ts: datetime) -> bool:
        return window is not None and window[0] <= ts and (window[1] is None or ts < window[1])

    loads = load_readings(session, manifest.vehicle_id, near[0].ts - LOAD_MARGIN, leave)
    out = []
    for flag in (True, False):
        mine = [f for f in near if loaded(f.ts) == flag]
        if mine:
            span = around([f for f in track if loaded(f.ts) == flag], mine[0].ts, mine[-1].ts)
            out.append(passage(place, manifest.manifest_no, manifest.vehicle_plate, flag, mine, span, loads,
                               related, monitor))
    return out


def trip_track(session: Session, trip_windows: Sequence, upto: datetime) -> list[NearFix]:
    """The trip's fixes (in its windows, tracks.windows) up to ``upto``: what the loaded window and the
    passage's way in and out need, and no more."""
    clauses = []
    for window in trip_windows:
        devices = devices_of(session, window.vehicle_id, "gps")
        if devices and window.start <= upto:
            clauses.append(and_(col(GpsFix.device_id).in_(devices), col(GpsFix.ts) >= window.start,
                                col(GpsFix.ts) <= min(window.end, upto)))
    if not clauses:
        return []
    rows = session.execute(sa_select(col(GpsFix.ts), col(GpsFix.lon), col(GpsFix.lat), col(GpsFix.seq),
                                     col(GpsFix.device_id), col(GpsFix.verified), col(GpsFix.speed_kmh))
                           .where(or_(*clauses)).order_by(col(GpsFix.ts))).all()
    return [NearFix(*row) for row in rows]


def detection_trip(session: Session, monitor: Monitor, manifest: Manifest, track: Sequence[NearFix]) -> Trip:
    """The trip as detection's loaded window reads it: its sites, its signatures and its fixes."""
    monitor.places.refresh(session)

    def site(site_id: int):
        known = monitor.places.sites.get(site_id)
        if known is not None:
            return known
        row = session.get(Site, site_id)
        assert row is not None, "a manifest's sites are never deleted"
        return site_place(row)

    return Trip(manifest_no=manifest.manifest_no, plate=manifest.vehicle_plate, waste_code=manifest.waste_code,
                declared_kg=manifest.declared_kg, generator_site=site(manifest.generator_site_id),
                receiver_site=site(manifest.receiver_site_id), transporter_id=manifest.transporter_id,
                dispatched_at=manifest.dispatched_at, received_at=manifest.received_at,
                fixes=tuple(Fix(f.ts, f.lon, f.lat, f.seq, f.device_id, f.verified, f.speed_kmh) for f in track))


def devices_of(session: Session, vehicle_id: int, kind: str) -> list[str]:
    """The vehicle's GPS terminals or load sensors (tracks.service's definitions), asked once a request: the
    session's ``info`` lives as long as the request."""
    cache = session.info.setdefault("forensics_devices", {})
    if (vehicle_id, kind) not in cache:
        cache[vehicle_id, kind] = tracks.vehicle_devices(session, vehicle_id, "gps") if kind == "gps" else \
            tracks.load_devices(session, vehicle_id)
    return cache[vehicle_id, kind]


def load_readings(session: Session, vehicle_id: int, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    devices = devices_of(session, vehicle_id, "load")
    if not devices:
        return []
    return [(row[0], row[1]) for row in session.execute(select(LoadReading.ts, LoadReading.load_kg).where(
        col(LoadReading.device_id).in_(devices), col(LoadReading.ts).between(start, end))
        .order_by(col(LoadReading.ts))).all()]


def passage(place: Place, manifest_no: str | None, plate: str, loaded: bool, near: list[NearFix],
            span: list[NearFix], loads: Sequence[tuple[datetime, int]], related: Sequence[Finding] = (),
            monitor: Monitor | None = None) -> Passage:
    """One passage's figures: ``near`` are its fixes within the radius, ``span`` the track from the first
    to the last of them (to time the stay and find the stops), ``loads`` the trip's load readings."""
    inside = [place.holds(f.lon, f.lat) for f in span]
    near_loads = [r for r in loads if near[0].ts - LOAD_MARGIN <= r[0] <= near[-1].ts + LOAD_MARGIN]
    fall, from_kg = rules.largest_fall(near_loads)
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


def related_findings(session: Session, principal: Principal, manifest_nos: list[str],
                     place: Place) -> dict[str, list[Finding]]:
    """The manifests' findings the caller may see that bear on the place, by manifest: those located within
    the radius, and the tonnage shortfall. Withdrawn ones are gone."""
    if not manifest_nos:
        return {}
    rows = session.exec(findings.visible(select(Finding), principal).where(
        col(Finding.manifest_no).in_(manifest_nos), Finding.status != "withdrawn").order_by(col(Finding.id))).all()
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in rows:
        if f.manifest_no and (f.code == "TONNAGE_SHORTFALL" or _located_within(f, place)):
            out[f.manifest_no].append(f)
    return out


def _located_within(finding: Finding, place: Place) -> bool:
    point = (finding.location or {}).get("coordinates")
    return isinstance(point, list) and len(point) >= 2 and place.holds(point[0], point[1])


def public(p: Passage) -> dict:
    return {"manifest_no": p.manifest_no, "plate": p.plate, "loaded": p.loaded, "enter": p.enter, "leave": p.leave,
            "seconds_within": p.seconds_within, "closest_m": p.closest_m, "longest_stop_s": p.longest_stop_s,
            "load_drop_kg": p.load_drop_kg, "shortfall_kg": p.shortfall_kg, "fixes": p.fixes,
            "findings": p.findings, "rank": p.rank}


def no_track(session: Session, principal: Principal, start: datetime, end: datetime) -> int:
    """The manifests the caller may see that were under way in the period with not one fix of their vehicle
    while under way: nothing to judge them by. A received manifest says so by its NO_TRACK finding (the same
    rule, already applied at reconciliation); the others — in transit, or rejected — are asked of the store.
    A manifest left open is judged by its first 48 h (findings.md, a trip's telemetry)."""
    closed = func.coalesce(Manifest.received_at, Manifest.rejected_at, end)
    under_way = (col(Manifest.dispatched_at).is_not(None), col(Manifest.dispatched_at) <= end,
                 col(Manifest.dispatched_at) >= start - LONGEST, closed >= start)
    fixed = exists(select(GpsFix.device_id).where(
        GpsFix.device_id == Device.id, col(GpsFix.ts) >= Manifest.dispatched_at, col(GpsFix.ts) >= start,
        col(GpsFix.ts) <= closed, col(GpsFix.ts) <= end).correlate(Manifest, Device))
    tracked = exists(select(Device.id).where(Device.vehicle_id == Manifest.vehicle_id, fixed).correlate(Manifest))
    unreceived = session.exec(manifests.visible(select(func.count(col(Manifest.id))), principal).where(
        *under_way, col(Manifest.received_at).is_(None), ~tracked)).one()
    flagged = select(Finding.manifest_no).where(Finding.code == "NO_TRACK", Finding.status != "withdrawn")
    received = session.exec(manifests.visible(select(func.count(col(Manifest.id))), principal).where(
        *under_way, col(Manifest.received_at).is_not(None), col(Manifest.manifest_no).in_(flagged))).one()
    return int(unreceived) + int(received)


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
              for r in rows if isinstance(r.location, dict) and r.location.get("coordinates")]
    return [{"center": {"type": "Point", "coordinates": [round(h.lon, 6), round(h.lat, 6)]},
             "radius_m": round(h.radius_m, 1), "findings": len(h.finding_ids), "vehicles": h.vehicles,
             "first_seen": h.first_seen, "last_seen": h.last_seen, "finding_ids": h.finding_ids}
            for h in hotspots(points, settings.hotspot_link_m, settings.hotspot_min_vehicles,
                              settings.hotspot_min_findings)]
