"""Flow routes: ``GET /v1/flows``, ``/v1/flows/capacity``, ``/v1/flows/declared`` (regulator, administrator)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.database import utcnow
from wasteflow.flows import service
from wasteflow.flows.periods import check_region, local_year, window, year_window

router = APIRouter(prefix="/v1/flows", tags=["flows"], responses=responses(401, 403, 422))

FROM = Query(None, alias="from", description="a local date (2026-11-01) or an RFC 3339 time; inclusive")
TO = Query(None, alias="to", description="a local date (inclusive: the whole day) or an RFC 3339 time (exclusive)")
REGION = Query(None, description="a region-code prefix: the generator's or the receiver's region lies under it")


class FlowItem(BaseModel):
    period: str
    generator_id: int
    receiver_id: int
    receiver_site_id: int
    waste_code: str
    manifests: int
    departed_kg: int
    received_kg: int
    accepted_kg: int


class FlowPage(BaseModel):
    items: list[FlowItem]
    in_transit_kg: int
    in_transit_manifests: int
    disputed_kg: int
    disputed_manifests: int
    period: str
    timezone: str


@router.get("", response_model=FlowPage)
def get_flows(period: Literal["day", "month", "year"] = "month", start: str | None = FROM, end: str | None = TO,
              region: str | None = REGION, principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
              settings: Settings = Depends(get_settings)):
    """Reconciled tonnage by period (local time of the receipt), generator → receiver site, waste code;
    with what is still in transit and what is disputed (see docs/regulators.md)."""
    principal.require_oversight()
    bounds = window(start, end, settings.timezone)
    region = check_region(region)
    with db.reading() as session:
        report = service.flows(session, principal, period, bounds, region, settings.timezone)
    return FlowPage(items=report.items, in_transit_kg=report.in_transit_kg,
                    in_transit_manifests=report.in_transit_manifests, disputed_kg=report.disputed_kg,
                    disputed_manifests=report.disputed_manifests, period=period, timezone=settings.timezone)


@router.get("/capacity")
def get_capacity(year: int | None = Query(None, description="local calendar year (default: this year)"),
                 region: str | None = REGION, principal: Principal = Depends(get_principal),
                 db: Db = Depends(get_db), settings: Settings = Depends(get_settings)) -> dict:
    """Each receiving site's accepted kg this (local) year so far against its permitted annual capacity."""
    principal.require_oversight()
    year = year if year is not None else local_year(utcnow(), settings.timezone)
    bounds = year_window(year, settings.timezone)
    region = check_region(region)
    with db.reading() as session:
        items = service.capacity(session, principal, year, bounds, region)
    return {"year": year, "timezone": settings.timezone, "items": items}


@router.get("/declared")
def get_declared(start: str | None = FROM, end: str | None = TO, region: str | None = REGION,
                 principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> dict:
    """Per generator, over the manifests it dispatched in the window: declared vs departed vs accepted kg."""
    principal.require_oversight()
    bounds = window(start, end, settings.timezone)
    region = check_region(region)
    with db.reading() as session:
        items = service.declared(session, principal, bounds, region)
    return {"timezone": settings.timezone, "items": items}
