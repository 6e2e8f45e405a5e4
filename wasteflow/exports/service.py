"""Exports as streams of text: manifests with their findings (CSV, GeoJSON), tracks (GeoJSON), flows (CSV).

Manifests are read in pages by id (keyset), each page's findings and fixes in a few queries, and
written out page by page: a year of a city's data never sits in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime

from shapely.geometry import shape
from sqlmodel import Session, select

from wasteflow.auth.service import Principal
from wasteflow.findings.models import Finding
from wasteflow.flows.periods import Window
from wasteflow.flows.service import FLOW_FIELDS, ticket_net
from wasteflow.ledger.service import rfc3339
from wasteflow.manifests.models import Manifest
from wasteflow.manifests.service import in_region, visible
from wasteflow.registry.models import Site
from wasteflow.tracks.service import trip_fixes

PAGE = 200

MANIFEST_COLUMNS = (
    "manifest_no", "status", "region_code", "generator_id", "generator_site_id", "transporter_id", "vehicle_plate",
    "receiver_id", "receiver_site_id", "receiver_region_code", "waste_code", "declared_kg", "departed_kg",
    "received_kg", "accepted_kg", "filed_at", "dispatched_at", "in_transit_at", "arrived_at", "received_at",
    "rejected_at", "cancelled_at", "reconciled_at", "reject_reason", "findings", "open_findings", "finding_codes")
"""``findings`` counts those not withdrawn; ``finding_codes`` lists every one as ``CODE#id:status``."""

TIME_FIELDS = ("filed_at", "dispatched_at", "in_transit_at", "arrived_at", "received_at", "rejected_at",
               "cancelled_at", "reconciled_at")
OPEN_FINDING = ("open", "acknowledged", "investigating")


def _time(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


# --- reading manifests in pages --------------------------------------------------------------

def manifest_pages(session: Session, principal: Principal, window: Window, region: str | None,
                   status: str | None = None, time_column=Manifest.filed_at,
                   page: int | None = None) -> Iterator[list[tuple[Manifest, int | None, int | None]]]:
    """Pages of (manifest, departed net, received net), oldest id first, visible to ``principal``."""
    after, page = 0, page or PAGE
    while True:
        query = select(Manifest, ticket_net("departure"), ticket_net("arrival")).where(Manifest.id > after)
        query = in_region(visible(query, principal), region)
        if status:
            query = query.where(Manifest.status == status)
        if window.start is not None:
            query = query.where(time_column >= window.start)
        if window.end is not None:
            query = query.where(time_column < window.end)
        rows = [tuple(r) for r in session.exec(query.order_by(Manifest.id).limit(page)).all()]
        if not rows:
            return
        yield rows
        after = rows[-1][0].id
        session.expunge_all()  # what was written out may go


def findings_of(session: Session, manifest_nos: list[str]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {no: [] for no in manifest_nos}
    for finding in session.exec(select(Finding).where(Finding.manifest_no.in_(manifest_nos)).order_by(Finding.id)):
        found[finding.manifest_no].append(finding)
    return found


def manifest_record(manifest: Manifest, departed: int | None, received: int | None,
                    findings: list[Finding]) -> dict:
    record = {c: getattr(manifest, c, None) for c in MANIFEST_COLUMNS[:12]}
    record.update(departed_kg=departed, received_kg=received, accepted_kg=manifest.accepted_kg,
                  reject_reason=manifest.reject_reason)
    for name in TIME_FIELDS:
        record[name] = _time(getattr(manifest, name))
    live = [f for f in findings if f.status != "withdrawn"]
    record["findings"] = len(live)
    record["open_findings"] = sum(1 for f in live if f.status in OPEN_FINDING)
    record["finding_codes"] = ";".join(f"{f.code}#{f.id}:{f.status}" for f in findings)
    return record


def finding_summary(finding: Finding) -> dict:
    return {"id": finding.id, "code": finding.code, "severity": finding.severity, "status": finding.status,
            "verified": finding.verified, "window": {"start": _time(finding.window_start),
                                                     "end": _time(finding.window_end)},
            "location": finding.location}


# --- CSV -------------------------------------------------------------------------------------

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading ``'``.

    Free text in an export (a rejection reason, say) is written by the parties; opened in a
    spreadsheet, ``=HYPERLINK(...)`` would run on the regulator's machine. Numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """A CSV stream, flushed every 200 rows; UTF-8 with a BOM so spreadsheet programs read 蒙B12345."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else spreadsheet_safe(v) for v in row])
        if n % PAGE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def manifests_csv(session: Session, principal: Principal, window: Window, region: str | None,
                  status: str | None) -> Iterator[str]:
    def rows():
        for page in manifest_pages(session, principal, window, region, status):
            found = findings_of(session, [m.manifest_no for m, _, _ in page])
            for manifest, departed, received in page:
                record = manifest_record(manifest, departed, received, found[manifest.manifest_no])
                yield [record[c] for c in MANIFEST_COLUMNS]
    return csv_lines(MANIFEST_COLUMNS, rows())


def flows_csv(items: list[dict]) -> Iterator[str]:
    """One line a flow row; a follow-up row's parents space-separated in one cell."""
    def cell(value):
        return " ".join(value) if isinstance(value, list) else value
    return csv_lines(FLOW_FIELDS, ([cell(item[f]) for f in FLOW_FIELDS] for item in items))


# --- GeoJSON ---------------------------------------------------------------------------------

def feature_collection(features: Iterable[dict], **members) -> Iterator[str]:
    """``{"type": "FeatureCollection", ..., "features": [...]}`` written a feature at a time."""
    head = {"type": "FeatureCollection", **members}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n'
    first = True
    for feature in features:
        yield ("" if first else ",\n") + json.dumps(feature, ensure_ascii=False, default=str)
        first = False
    yield "\n]}\n"


class SitePoints:
    """Each site's representative point (inside its geofence), looked up once."""

    def __init__(self, session: Session):
        self.session = session
        self.points: dict[int, list[float]] = {}

    def __call__(self, site_id: int) -> list[float] | None:
        if site_id not in self.points:
            site = self.session.get(Site, site_id)
            if site is None:
                return None
            point = shape(site.geofence).representative_point()
            self.points[site_id] = [round(point.x, 7), round(point.y, 7)]
        return self.points[site_id]


def manifest_features(session: Session, principal: Principal, window: Window, region: str | None,
                      status: str | None) -> Iterator[dict]:
    """A feature per manifest: the LineString of its track, or the Point of its generator site."""
    sites = SitePoints(session)
    for page in manifest_pages(session, principal, window, region, status):
        found = findings_of(session, [m.manifest_no for m, _, _ in page])
        for manifest, departed, received in page:
            fixes = trip_fixes(session, manifest)
            if len(fixes) >= 2:
                geometry = {"type": "LineString", "coordinates": [[f.lon, f.lat] for f in fixes]}
                source = "track"
            else:
                geometry = {"type": "Point", "coordinates": sites(manifest.generator_site_id)}
                source = "generator_site"
            properties = manifest_record(manifest, departed, received, found[manifest.manifest_no])
            properties["finding_codes"] = [f.code for f in found[manifest.manifest_no] if f.status != "withdrawn"]
            properties.update(geometry_source=source, fixes=len(fixes),
                              receiver_site=sites(manifest.receiver_site_id),
                              finding_list=[finding_summary(f) for f in found[manifest.manifest_no]])
            yield {"type": "Feature", "id": manifest.manifest_no, "geometry": geometry, "properties": properties}


def track_features(session: Session, principal: Principal, window: Window, region: str | None) -> Iterator[dict]:
    """Per dispatched manifest: its track (LineString, or Point for a single fix) and its findings' Points."""
    for page in manifest_pages(session, principal, window, region, time_column=Manifest.dispatched_at):
        found = findings_of(session, [m.manifest_no for m, _, _ in page])
        for manifest, _departed, _received in page:
            if manifest.dispatched_at is None:
                continue
            fixes = trip_fixes(session, manifest)
            base = {"manifest_no": manifest.manifest_no, "plate": manifest.vehicle_plate,
                    "waste_code": manifest.waste_code, "status": manifest.status}
            if fixes:
                coordinates = [[f.lon, f.lat] for f in fixes]
                geometry = ({"type": "LineString", "coordinates": coordinates} if len(fixes) > 1
                            else {"type": "Point", "coordinates": coordinates[0]})
                yield {"type": "Feature", "geometry": geometry, "properties": {
                    "kind": "track", **base, "fixes": len(fixes), "first_fix_at": _time(fixes[0].ts),
                    "last_fix_at": _time(fixes[-1].ts), "times": [_time(f.ts) for f in fixes],
                    "unverified_fixes": sum(1 for f in fixes if not f.verified),
                    "fixes_via": dict(Counter(f.via for f in fixes if f.via))}}
            for finding in found[manifest.manifest_no]:
                if finding.location and finding.status != "withdrawn":
                    yield {"type": "Feature", "geometry": finding.location, "properties": {
                        "kind": "finding", **base, "id": finding.id, "code": finding.code,
                        "severity": finding.severity, "finding_status": finding.status}}
