"""Flow routes: ``GET /v1/flows``, ``/v1/flows/capacity``, ``/v1/flows/declared`` (regulator, administrator)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query

from wasteflow.api.deps import DbDep, PrincipalDep, SettingsDep
from wasteflow.api.problems import responses
from wasteflow.database import utcnow
from wasteflow.flows import service
from wasteflow.flows.periods import check_region, local_year, window, year_window
from wasteflow.flows.schemas import (
    CapacityReport,
    DeclaredReport,
    FlowPage,
    FromBound,
    Period,
    RegionPrefix,
    ToBound,
)

router = APIRouter(prefix="/v1/flows", tags=["flows"], responses=responses(401, 403, 422))


@router.get("", response_model=FlowPage)
def get_flows(session: DbDep, principal: PrincipalDep, settings: SettingsDep, period: Period = "month",
              start: FromBound = None, end: ToBound = None, region: RegionPrefix = None):
    """Reconciled tonnage by period (local time of the receipt), generator → receiver site, waste code;
    with what is still in transit and what is disputed (see docs/regulators.md)."""
    principal.require_oversight()
    bounds = window(start, end, settings.timezone)
    report = service.flows(session, principal, period, bounds, check_region(region), settings.timezone)
    return FlowPage.model_validate({**asdict(report), "period": period, "timezone": settings.timezone})


@router.get("/capacity", response_model=CapacityReport)
def get_capacity(session: DbDep, principal: PrincipalDep, settings: SettingsDep,
                 year: int | None = Query(None, description="local calendar year (default: this year)"),
                 region: RegionPrefix = None):
    """Each receiving site's accepted kg this (local) year so far against its permitted annual capacity."""
    principal.require_oversight()
    year = year if year is not None else local_year(utcnow(), settings.timezone)
    bounds = year_window(year, settings.timezone)
    items = service.capacity(session, principal, year, bounds, check_region(region))
    return CapacityReport.model_validate({"year": year, "timezone": settings.timezone, "items": items})


@router.get("/declared", response_model=DeclaredReport)
def get_declared(session: DbDep, principal: PrincipalDep, settings: SettingsDep, start: FromBound = None,
                 end: ToBound = None, region: RegionPrefix = None):
    """Per generator, over the manifests it dispatched in the window: declared vs departed vs accepted kg."""
    principal.require_oversight()
    bounds = window(start, end, settings.timezone)
    items = service.declared(session, principal, bounds, check_region(region))
    return DeclaredReport.model_validate({"timezone": settings.timezone, "items": items})
