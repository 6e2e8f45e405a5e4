"""``GET /v1/findings/stats``: findings as cases, per period and region (regulator, administrator).

Registered before the findings router, so ``/v1/findings/{id}`` does not take ``stats`` for an id.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from sqlmodel import select

from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.findings import stats
from wasteflow.findings.models import Finding
from wasteflow.findings.views import _visible
from wasteflow.flows.periods import check_region, window

router = APIRouter(prefix="/v1/findings/stats", tags=["findings"], responses=responses(401, 403, 422))


@router.get("")
def finding_stats(period: Literal["day", "month", "year"] = "month",
                  start: str | None = Query(None, alias="from", description="a local date or an RFC 3339 time"),
                  end: str | None = Query(None, alias="to", description="a local date (inclusive) or a time (exclusive)"),
                  region: str | None = Query(None, description="a region-code prefix of the finding's region"),
                  principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                  settings: Settings = Depends(get_settings)) -> dict:
    """Per period (local time of raising) and region: raised (withdrawn never count), acknowledged, resolved,
    dismissed, share closed and median time to close, from the findings' history."""
    principal.require_oversight()
    bounds, region = window(start, end, settings.timezone), check_region(region)
    with db.reading() as session:
        items = stats.figures(stats.cases(session, _visible(select(Finding), principal), bounds, region),
                              period, settings.timezone)
    return {"period": period, "timezone": settings.timezone, "items": items}
