"""Loading trips as detection's plain data, a batch of manifests at a time.

Reconciliation from the store used to read one trip in ~20 queries (each window twice, each
ticket, the category, one query per vehicle's devices and next dispatch): the loading, not the
rules, set its pace. Here a batch of manifests costs one query per table — legs, next starts,
devices, fixes, load readings, tickets, categories — and the places come from the
:class:`~wasteflow.monitoring.trips.PlaceDirectory` cache. Which readings belong to which trip is
still decided by :mod:`wasteflow.tracks.windows` alone, so a trip loaded in a batch is exactly
the trip loaded alone.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shapely.geometry import shape
from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from wasteflow.detection.model import Fix, LoadReading, Place, Trip
from wasteflow.manifests.legs import spans_of
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.monitoring.leg_trips import trip_legs
from wasteflow.monitoring.trips import PlaceDirectory, detection_ticket, site_place
from wasteflow.registry.models import Device, Site, WasteCategory
from wasteflow.tickets.models import WeighTicket
from wasteflow.tracks import models as stored
from wasteflow.tracks.windows import LONGEST, Leg, Window, one_track, trip_windows

Windows = dict[int | None, list[Window]]


def load_trip(session: Session, manifest: Manifest, places: PlaceDirectory,
              recent_from: datetime | None = None) -> Trip:
    return load_trips(session, [manifest], places, recent_from)[0]


def load_trips(session: Session, manifests: Sequence[Manifest], places: PlaceDirectory,
               recent_from: datetime | None = None) -> list[Trip]:
    """The manifests' trips, in their order, in one query per table.

    ``recent_from``: read only the readings from then on (live detection's recent window)."""
    if not manifests:
        return []
    places.refresh(session)
    windows = batch_windows(session, manifests)
    if recent_from is not None:
        windows = {i: clipped(ws, recent_from) for i, ws in windows.items()}
    gps, load = vehicle_devices(session, {w.vehicle_id for ws in windows.values() for w in ws})
    fixes = readings(session, windows, gps, stored.GpsFix, (
        stored.GpsFix.ts, stored.GpsFix.lon, stored.GpsFix.lat, stored.GpsFix.seq, stored.GpsFix.device_id,
        stored.GpsFix.verified, stored.GpsFix.speed_kmh, stored.GpsFix.via))
    loads = readings(session, windows, load, stored.LoadReading, (
        stored.LoadReading.ts, stored.LoadReading.load_kg, stored.LoadReading.seq, stored.LoadReading.device_id,
        stored.LoadReading.verified, stored.LoadReading.via))
    tickets = linked_tickets(session, [m.manifest_no for m in manifests])
    tolerances = category_tolerances(session, {m.waste_code for m in manifests})
    return [build_trip(session, m, places, tuple(Fix(*r) for r in fixes[m.id]),
                       tuple(LoadReading(*r) for r in loads[m.id]), tickets, tolerances) for m in manifests]


def build_trip(session: Session, manifest: Manifest, places: PlaceDirectory, fixes: tuple, loads: tuple,
               tickets: dict, tolerances: dict) -> Trip:
    no = manifest.manifest_no
    return Trip(
        manifest_no=no, plate=manifest.vehicle_plate, waste_code=manifest.waste_code,
        declared_kg=manifest.declared_kg, generator_site=_site(session, places, manifest.generator_site_id),
        receiver_site=_site(session, places, manifest.receiver_site_id), transporter_id=manifest.transporter_id,
        dispatched_at=manifest.dispatched_at, received_at=manifest.received_at, accepted_kg=manifest.accepted_kg,
        refused_kg=manifest.refused_kg or 0,
        planned_arrival=manifest.planned_arrival, route=shape(manifest.route) if manifest.route else None,
        corridor_m=manifest.corridor_m,
        departure_ticket=detection_ticket(tickets.get((no, "departure"))),
        arrival_ticket=detection_ticket(tickets.get((no, "arrival"))),
        fixes=fixes, loads=loads, tolerance_pct=tolerances.get(manifest.waste_code.split(" ")[0]),
        legs=trip_legs(session, manifest, lambda site_id: _site(session, places, site_id), detection_ticket),
        regions=(manifest.region_code, manifest.receiver_region_code))


def _site(session: Session, places: PlaceDirectory, site_id: int) -> Place:
    place = places.sites.get(site_id)
    if place is not None:
        return place
    site = session.get(Site, site_id)
    if site is None:
        raise LookupError(f"site {site_id} named by a manifest is not registered")
    return site_place(site)


# --- which readings: the windows of every manifest in the batch -----------------------------------

def batch_windows(session: Session, manifests: Sequence[Manifest]) -> Windows:
    """Per manifest id, its trip windows read as one track (``tracks.service.windows``, batched)."""
    rows: dict[int | None, list[ManifestLeg]] = defaultdict(list)
    ids = [m.id for m in manifests]
    for row in session.exec(select(ManifestLeg).where(col(ManifestLeg.manifest_id).in_(ids))
                            .order_by(col(ManifestLeg.manifest_id), col(ManifestLeg.leg))).all():
        rows[row.manifest_id].append(row)
    spans = {m.id: spans_of(m, rows[m.id]) for m in manifests}
    starts = next_starts(session, [s for ss in spans.values() for s in ss])
    out: Windows = {}
    for manifest in manifests:
        legs = [Leg(s.vehicle_id, s.start, s.end, _first_after(starts[s.vehicle_id], manifest.id, s.start))
                for s in spans[manifest.id]]
        out[manifest.id] = one_track(trip_windows(legs))
    return out


def clipped(windows: list[Window], start: datetime) -> list[Window]:
    """The windows' parts from ``start`` on."""
    return [Window(w.vehicle_id, max(w.start, start), w.end) for w in windows if w.end >= start]


def next_starts(session: Session, spans: Sequence[Any]) -> dict[int, list[tuple[datetime, int]]]:
    """Per vehicle, the starts (dispatches and takeovers) that can close one of ``spans``' windows.

    A start later than 48 h after a leg's own start cannot end its window (``windows.LONGEST``
    does first), so only the starts between the earliest span and the latest span + 48 h are read.
    """
    if not spans:
        return defaultdict(list)
    vehicles = list({s.vehicle_id for s in spans})
    low, high = min(s.start for s in spans), max(s.start for s in spans) + LONGEST
    found: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    dispatches = select(Manifest.vehicle_id, Manifest.id, Manifest.dispatched_at).where(
        col(Manifest.vehicle_id).in_(vehicles), col(Manifest.dispatched_at) > low, col(Manifest.dispatched_at) <= high)
    takeovers = select(ManifestLeg.vehicle_id, ManifestLeg.manifest_id, ManifestLeg.handed_over_at).where(
        col(ManifestLeg.vehicle_id).in_(vehicles), col(ManifestLeg.handed_over_at) > low,
        col(ManifestLeg.handed_over_at) <= high)
    for query in (dispatches, takeovers):
        for vehicle_id, manifest_id, at in session.execute(query).all():
            found[vehicle_id].append((at, manifest_id))
    return found


def _first_after(starts: list[tuple[datetime, int]], manifest_id: int | None, after: datetime) -> datetime | None:
    """``tracks.service.next_start``: the vehicle's earliest start on another manifest after ``after``."""
    later = [at for at, other in starts if other != manifest_id and at > after]
    return min(later) if later else None


def vehicle_devices(session: Session, vehicle_ids: set[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Per vehicle, its GPS devices, and its load devices (load cells and terminals carrying a load item)."""
    gps: dict[int, list[str]] = defaultdict(list)
    load: dict[int, list[str]] = defaultdict(list)
    if vehicle_ids:
        query = select(Device.id, Device.vehicle_id, Device.kind, Device.load_item).where(
            col(Device.vehicle_id).in_(list(vehicle_ids)))
        for device_id, vehicle_id, kind, load_item in session.execute(query).all():
            if kind == "gps":
                gps[vehicle_id].append(device_id)
            if kind == "load_cell" or load_item is not None:
                load[vehicle_id].append(device_id)
    return gps, load


def readings(session: Session, windows: Windows, devices: dict[int, list[str]], table: Any,
             columns: tuple) -> dict[int | None, list]:
    """Per manifest id, the rows of ``table`` its windows hold, in event-time order: one query for
    the whole batch, then each manifest's share picked by device and time."""
    clauses = [and_(col(table.device_id).in_(devices[w.vehicle_id]), table.ts >= w.start, table.ts <= w.end)
               for ws in windows.values() for w in ws if devices.get(w.vehicle_id)]
    rows = session.execute(select(*columns).where(or_(*clauses) if clauses else false())
                           .order_by(col(table.ts), col(table.device_id), col(table.seq))).all()
    by_device: dict[str, tuple[list[datetime], list[int]]] = defaultdict(lambda: ([], []))
    for index, row in enumerate(rows):
        times, positions = by_device[row.device_id]
        times.append(row.ts)
        positions.append(index)
    out: dict[int | None, list] = {}
    for manifest_id, ws in windows.items():
        picked: set[int] = set()
        for window in ws:
            for device_id in devices.get(window.vehicle_id, ()):
                times, positions = by_device.get(device_id, ([], []))
                picked.update(positions[bisect_left(times, window.start):bisect_right(times, window.end)])
        out[manifest_id] = [rows[i] for i in sorted(picked)]
    return out


# --- what else a trip carries -------------------------------------------------------------------

def linked_tickets(session: Session, numbers: list[str]) -> dict[tuple[str, str], WeighTicket]:
    """Per (manifest, direction), the linked ticket — the latest linked, as ``tickets.service.linked_ticket``."""
    query = (select(WeighTicket).where(col(WeighTicket.manifest_no).in_(numbers))
             .order_by(col(WeighTicket.id).desc()))
    out: dict[tuple[str, str], WeighTicket] = {}
    for ticket in session.exec(query).all():
        out.setdefault((ticket.manifest_no, ticket.direction), ticket)  # type: ignore[arg-type]
    return out


def category_tolerances(session: Session, waste_codes: set[str]) -> dict[str, float | None]:
    codes = list({code.split(" ")[0] for code in waste_codes})
    query = select(WasteCategory.code, WasteCategory.tolerance_pct).where(col(WasteCategory.code).in_(codes))
    return {code: pct for code, pct in session.execute(query).all()}
