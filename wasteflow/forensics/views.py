"""``POST /v1/forensics/dump-site`` and ``GET /v1/hotspots`` (regulators, the administrator)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from wasteflow.api.deps import DbDep, MonitorDep, PrincipalDep, SettingsDep
from wasteflow.api.problems import responses
from wasteflow.database import utcnow
from wasteflow.flows.periods import parse_bound
from wasteflow.flows.schemas import FromBound, ToBound
from wasteflow.forensics import service
from wasteflow.forensics.schemas import DumpSiteAnswer, DumpSiteQuery, HotspotPage

router = APIRouter(tags=["forensics"], responses=responses(401, 403, 422))


@router.post("/v1/forensics/dump-site", response_model=DumpSiteAnswer)
def dump_site(data: DumpSiteQuery, session: DbDep, principal: PrincipalDep, monitor: MonitorDep):
    """From a found dump back to the trucks: every passage within the radius in the period, ranked
    (findings.md, "Forensics")."""
    return service.dump_site(session, principal, data, monitor, utcnow())


@router.get("/v1/hotspots", response_model=HotspotPage)
def hotspots(session: DbDep, principal: PrincipalDep, settings: SettingsDep, start: FromBound = None,
             end: ToBound = None, code: list[str] = Query(default=[], description="UNAUTHORIZED_STOP, LOAD_DROP, "
                                                                                 "DIVERSION (default: all three)")):
    """Places where stops, load drops and diversions of several vehicles, or many, gather (default: the last
    30 days)."""
    bounds = service.period(parse_bound(start, "from", settings.timezone, upper=False),
                            parse_bound(end, "to", settings.timezone, upper=True), utcnow())
    codes = [c.strip() for item in code for c in item.split(",") if c.strip()]
    items = service.hotspot_list(session, principal, bounds[0], bounds[1], codes, settings)
    return HotspotPage.of(items, None)
