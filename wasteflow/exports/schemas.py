"""What the GeoJSON exports hold, so the OpenAPI document can name it (the CSV exports are described by
their column lists in ``exports/service.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ExportFeature(BaseModel):
    type: Literal["Feature"]
    id: str | None = Field(default=None, description="the manifest number (manifests.geojson)")
    geometry: dict[str, Any] = Field(description="a GeoJSON Point or LineString, [lon, lat]")
    properties: dict[str, Any]


class ManifestsFeatureCollection(BaseModel):
    """A feature per manifest: its track's LineString, else its generator site's Point; its fields and
    findings as properties."""

    type: Literal["FeatureCollection"]
    name: str
    features: list[ExportFeature]


class TracksFeatureCollection(BaseModel):
    """Per dispatched trip, its track (``properties.kind: track``) and its findings (``kind: finding``)."""

    type: Literal["FeatureCollection"]
    name: str
    features: list[ExportFeature]
