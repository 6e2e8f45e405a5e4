"""Export routes under ``/v1/exports``: streaming CSV and GeoJSON for regulators (and the administrator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from wasteflow.api.deps import DbDep, PrincipalDep, SettingsDep
from wasteflow.api.media import GeoJSONStream
from wasteflow.api.problems import responses
from wasteflow.exports import service
from wasteflow.exports.schemas import ManifestsFeatureCollection, TracksFeatureCollection
from wasteflow.flows import service as flows
from wasteflow.flows.periods import check_region, window
from wasteflow.flows.schemas import FromBound, Period, RegionPrefix, ToBound
from wasteflow.manifests.schemas import ManifestStatus

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=responses(401, 403, 422))

CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV (UTF-8 with a byte-order mark), streamed"}}


def geojson(model: type) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "a GeoJSON FeatureCollection, streamed"}}


def _stream(lines: Iterator[str], media_type: str, filename: str, headers: dict | None = None) -> StreamingResponse:
    """Stream ``lines``: they read through the request's session, which stays open until the last is sent."""
    return StreamingResponse(lines, media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})})


@router.get("/manifests.csv", response_class=StreamingResponse, responses=CSV)
def manifests_csv(session: DbDep, principal: PrincipalDep, settings: SettingsDep, start: FromBound = None,
                  end: ToBound = None, region: RegionPrefix = None, status: ManifestStatus | None = None):
    """A row per manifest filed in the window, with its weighings and its findings (``CODE#id:status;...``)."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    return _stream(service.manifests_csv(session, principal, bounds, region, status),
                   "text/csv; charset=utf-8", "wasteflow-manifests.csv")


@router.get("/manifests.geojson", response_class=GeoJSONStream, responses=geojson(ManifestsFeatureCollection))
def manifests_geojson(session: DbDep, principal: PrincipalDep, settings: SettingsDep, start: FromBound = None,
                      end: ToBound = None, region: RegionPrefix = None, status: ManifestStatus | None = None):
    """A feature per manifest filed in the window: the LineString of its track, else the Point of its
    generator site; properties hold the manifest's fields and its findings."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    return _stream(service.feature_collection(service.manifest_features(session, principal, bounds, region, status),
                                              name="wasteflow manifests"),
                   "application/geo+json", "wasteflow-manifests.geojson")


@router.get("/tracks.geojson", response_class=GeoJSONStream, responses=geojson(TracksFeatureCollection))
def tracks_geojson(session: DbDep, principal: PrincipalDep, settings: SettingsDep, start: FromBound = None,
                   end: ToBound = None, region: RegionPrefix = None):
    """Every trip dispatched in the window: its track (``kind: track``) and its findings (``kind: finding``)."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    return _stream(service.feature_collection(service.track_features(session, principal, bounds, region),
                                              name="wasteflow tracks"),
                   "application/geo+json", "wasteflow-tracks.geojson")


@router.get("/flows.csv", response_class=StreamingResponse, responses=CSV)
def flows_csv(session: DbDep, principal: PrincipalDep, settings: SettingsDep, period: Period = "month",
              start: FromBound = None, end: ToBound = None, region: RegionPrefix = None):
    """``GET /v1/flows`` as CSV; the in-transit and disputed totals travel in ``X-Wasteflow-*`` headers."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    report = flows.flows(session, principal, period, bounds, region, settings.timezone)
    headers = {"X-Wasteflow-In-Transit-Kg": str(report.in_transit_kg),
               "X-Wasteflow-In-Transit-Manifests": str(report.in_transit_manifests),
               "X-Wasteflow-Disputed-Kg": str(report.disputed_kg),
               "X-Wasteflow-Disputed-Manifests": str(report.disputed_manifests)}
    return _stream(service.flows_csv(report.items), "text/csv; charset=utf-8", f"wasteflow-flows-{period}.csv",
                   headers)
