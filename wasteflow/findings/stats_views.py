"""``GET /v1/findings/stats``: findings as cases, per period and region (regulator, administrator).

Registered before the findings router, so ``/v1/findings/{id}`` does not take ``stats`` for an id.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from wasteflow.api.deps import DbDep, PrincipalDep, SettingsDep
from wasteflow.api.problems import responses
from wasteflow.findings import stats
from wasteflow.findings.schemas import FindingStats
from wasteflow.flows.periods import check_region, window
from wasteflow.flows.schemas import FromBound, Period, ToBound

router = APIRouter(prefix="/v1/findings/stats", tags=["findings"], responses=responses(401, 403, 422))


@router.get("", response_model=FindingStats)
def finding_stats(session: DbDep, principal: PrincipalDep, settings: SettingsDep, period: Period = "month",
                  start: FromBound = None, end: ToBound = None,
                  region: str | None = Query(None, description="a region-code prefix of the finding's region")):
    """Per period (local time of raising) and region: raised (withdrawn never count), acknowledged, resolved,
    dismissed, share closed and median time to close, from the findings' history."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    items = stats.figures(stats.cases(session, principal, bounds, region), period, settings.timezone)
    return FindingStats.model_validate({"period": period, "timezone": settings.timezone, "items": items})
