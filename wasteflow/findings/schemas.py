"""Request and response shapes of findings (field names are the contract; api.md, findings.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wasteflow.paging import Page
from wasteflow.schemas import Strict


class FindingPatch(Strict):
    status: Literal["acknowledged", "investigating", "resolved", "dismissed"]
    note: str = Field(min_length=1, max_length=4000, description="why: every move carries a note")


class FindingWindow(BaseModel):
    start: datetime
    end: datetime


class FindingPublic(BaseModel):
    """A finding as the API and the alerts show it (``findings.service.public`` builds it)."""

    id: int
    code: str = Field(examples=["LOAD_DROP"])
    severity: Literal["info", "warning", "critical"]
    manifest_no: str | None
    site_id: int | None = Field(description="set for receiver-level findings (CAPACITY_EXCEEDED)")
    plate: str | None
    region_code: str
    window: FindingWindow
    location: dict[str, Any] | None = Field(description="a GeoJSON Point, [lon, lat]")
    evidence: dict[str, Any]
    verified: bool = Field(description="true only when every reading it rests on came from a verified device")
    status: Literal["open", "acknowledged", "investigating", "resolved", "dismissed", "withdrawn"]
    raised_at: datetime
    updated_at: datetime


class FindingEventPublic(BaseModel):
    """One move in a finding's history."""

    model_config = ConfigDict(populate_by_name=True)

    at: datetime
    by: str = Field(examples=["regulator:1", "system"])
    from_status: str | None = Field(alias="from")
    status: str
    note: str


class FindingDetail(FindingPublic):
    history: list[FindingEventPublic]


class FindingPage(Page[FindingPublic]):
    pass


class CaseFigures(BaseModel):
    """One period and region of ``GET /v1/findings/stats`` (definitions: ``findings/stats.py``)."""

    period: str = Field(examples=["2026-11"])
    region_code: str
    raised: int
    acknowledged: int
    resolved: int
    dismissed: int
    open: int
    share_closed: float | None
    median_time_to_close_s: float | None


class FindingStats(BaseModel):
    period: Literal["day", "month", "year"]
    timezone: str
    items: list[CaseFigures]
