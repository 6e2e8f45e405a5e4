"""Response shapes of a trip's telemetry: its summary, and the track as GeoJSON (api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class TripSummary(BaseModel):
    fixes: int
    first_fix_at: datetime | None
    last_fix_at: datetime | None
    distance_m: int = Field(description="along the fixes, on the WGS 84 ellipsoid")
    unverified_fixes: int
    fixes_via: dict[str, int] = Field(default_factory=dict, description="fixes that came through a gateway, by "
                                                                        "gateway (`jt808`, ...); the rest came "
                                                                        "straight from their devices")
    load_readings: int


class TrackFeature(BaseModel):
    type: Literal["Feature"]
    geometry: dict[str, Any] = Field(description="a GeoJSON Point, LineString or (Multi)Polygon, [lon, lat]")
    properties: dict[str, Any] = Field(description="`kind` is fix, route, site, zone, stop or finding; the rest "
                                                   "depends on it (api.md)")


class TrackCollection(BaseModel):
    """``GET /v1/manifests/{no}/track``: a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    manifest_no: str
    features: list[TrackFeature]
