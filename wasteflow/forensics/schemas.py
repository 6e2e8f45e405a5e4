"""The dump-site question and its answer, and the hotspots list (api.md, field names are the contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from wasteflow.paging import Page
from wasteflow.schemas import Strict


class PointGeometry(Strict):
    """A GeoJSON Point, [lon, lat]."""

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)

    @field_validator("coordinates")
    @classmethod
    def _on_earth(cls, value: list[float]) -> list[float]:
        lon, lat = value[0], value[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("coordinates must be [lon, lat] with lon in [-180, 180] and lat in [-90, 90]")
        return value


class DumpSiteQuery(Strict):
    location: PointGeometry
    radius_m: float = Field(default=300.0, gt=0, le=5000, description="metres around the location")
    from_: AwareDatetime | None = Field(default=None, alias="from", description="default: 30 days before `to`")
    to: AwareDatetime | None = Field(default=None, description="default: now")

    model_config = {"populate_by_name": True, "extra": "forbid"}


class PassageFix(BaseModel):
    ts: datetime
    lon: float
    lat: float
    speed_kmh: float | None
    verified: bool
    distance_m: float


class PassageFinding(BaseModel):
    id: int
    code: str
    severity: str
    status: str


class PassagePublic(BaseModel):
    manifest_no: str | None = Field(description="null: the vehicle was on no manifest of the caller's then")
    plate: str
    loaded: bool
    enter: datetime
    leave: datetime
    seconds_within: float
    closest_m: float
    longest_stop_s: float = Field(description="the longest stop within the radius (≥ 2 min at ≤ 5 km/h); 0: none")
    load_drop_kg: int = Field(description="the largest fall of the on-board load around the passage")
    shortfall_kg: int | None = Field(description="the manifest's tonnage shortfall, if its reconciliation found one")
    fixes: list[PassageFix]
    findings: list[PassageFinding]
    rank: int


class DumpSiteAnswer(BaseModel):
    passages: list[PassagePublic]
    no_track: int = Field(description="manifests under way in the window with no telemetry to judge them by")


class HotspotPublic(BaseModel):
    center: dict[str, Any] = Field(description="a GeoJSON Point, [lon, lat]")
    radius_m: float
    findings: int
    vehicles: int
    first_seen: datetime
    last_seen: datetime
    finding_ids: list[int]


class HotspotPage(Page[HotspotPublic]):
    """Every hotspot of the period, on one page (``next_cursor`` is always null)."""
