"""Rejected telemetry, listable and countable by regulators."""

from __future__ import annotations

from fastapi import APIRouter

from wasteflow.api.deps import DbDep, PageDep, PrincipalDep
from wasteflow.api.problems import responses
from wasteflow.quarantine import service
from wasteflow.quarantine.schemas import QuarantineCounts, QuarantineItem, QuarantinePage

router = APIRouter(prefix="/v1/quarantine", tags=["quarantine"], responses=responses(401, 403, 422))


@router.get("", response_model=QuarantinePage)
def list_quarantine(session: DbDep, principal: PrincipalDep, page: PageDep, reason: str | None = None,
                    device_id: str | None = None):
    rows, next_cursor = service.list_messages(session, principal, page, reason=reason, device_id=device_id)
    return QuarantinePage.of([QuarantineItem.of(m) for m in rows], next_cursor)


@router.get("/counts", response_model=QuarantineCounts)
def count_by_reason(session: DbDep, principal: PrincipalDep):
    return QuarantineCounts(service.counts_by_reason(session, principal))
