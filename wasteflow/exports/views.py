"""Export routes under ``/v1/exports``: streaming CSV and GeoJSON for regulators (and the administrator)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.exports import service
from wasteflow.flows import service as flows
from wasteflow.flows.periods import check_region, window
from wasteflow.flows.views import FROM, REGION, TO

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=responses(401, 403, 422))

Status = Literal["filed", "dispatched", "in_transit", "arrived", "received", "reconciled", "rejected", "cancelled"]
CSV = {200: {"content": {"text/csv": {}}, "description": "CSV (UTF-8 with a byte-order mark), streamed"}}
GEOJSON = {200: {"content": {"application/geo+json": {}}, "description": "a GeoJSON FeatureCollection, streamed"}}


def _stream(db: Db, produce, media_type: str, filename: str, headers: dict | None = None) -> StreamingResponse:
    """Run ``produce(session)`` in a session of its own that lives as long as the stream."""
    def body():
        with Session(db.engine) as session:
            yield from produce(session)
    return StreamingResponse(body(), media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})})


@router.get("/manifests.csv", response_class=StreamingResponse, responses=CSV)
def manifests_csv(start: str | None = FROM, end: str | None = TO, region: str | None = REGION,
                  status: Status | None = None, principal: Principal = Depends(get_principal),
                  db: Db = Depends(get_db), settings: Settings = Depends(get_settings)):
    """A row per manifest filed in the window, with its weighings and its findings (``CODE#id:status;...``)."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    return _stream(db, lambda s: service.manifests_csv(s, principal, bounds, region, status),
                   "text/csv; charset=utf-8", "wasteflow-manifests.csv")


@router.get("/manifests.geojson", response_class=StreamingResponse, responses=GEOJSON)
def manifests_geojson(start: str | None = FROM, end: str | None = TO, region: str | None = REGION,
                      status: Status | None = None, principal: Principal = Depends(get_principal),
                      db: Db = Depends(get_db), settings: Settings = Depends(get_settings)):
    """A feature per manifest filed in the window: the LineString of its track, else the Point of its
    generator site; properties hold the manifest's fields and its findings."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    return _stream(db, lambda s: service.feature_collection(
        service.manifest_features(s, principal, bounds, region, status), name="wasteflow manifests"),
        "application/geo+json", "wasteflow-manifests.geojson")


@router.get("/tracks.geojson", response_class=StreamingResponse, responses=GEOJSON)
def tracks_geojson(start: str | None = FROM, end: str | None = TO, region: str | None = REGION,
                   principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                   settings: Settings = Depends(get_settings)):
    """Every trip dispatched in the window: its track (``kind: track``) and its findings (``kind: finding``)."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    return _stream(db, lambda s: service.feature_collection(
        service.track_features(s, principal, bounds, region), name="wasteflow tracks"),
        "application/geo+json", "wasteflow-tracks.geojson")


@router.get("/flows.csv", response_class=StreamingResponse, responses=CSV)
def flows_csv(period: Literal["day", "month", "year"] = "month", start: str | None = FROM, end: str | None = TO,
              region: str | None = REGION, principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
              settings: Settings = Depends(get_settings)):
    """``GET /v1/flows`` as CSV; the in-transit and disputed totals travel in ``X-Wasteflow-*`` headers."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    with db.reading() as session:
        report = flows.flows(session, principal, period, bounds, region, settings.timezone)
    headers = {"X-Wasteflow-In-Transit-Kg": str(report.in_transit_kg),
               "X-Wasteflow-In-Transit-Manifests": str(report.in_transit_manifests),
               "X-Wasteflow-Disputed-Kg": str(report.disputed_kg),
               "X-Wasteflow-Disputed-Manifests": str(report.disputed_manifests)}
    return StreamingResponse(service.flows_csv(report.items), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="wasteflow-flows-{period}.csv"',
                                      **headers})
