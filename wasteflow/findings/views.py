"""Findings routes: list with filters, one finding with its history, work it through the workflow."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlmodel import Session

from wasteflow.api.deps import DbDep, PageDep, PrincipalDep
from wasteflow.api.problems import responses
from wasteflow.findings import service
from wasteflow.findings.models import Finding
from wasteflow.findings.schemas import FindingDetail, FindingPage, FindingPatch

router = APIRouter(prefix="/v1/findings", tags=["findings"], responses=responses(401, 403, 404, 422))

Severity = Literal["info", "warning", "critical"]
Status = Literal["open", "acknowledged", "investigating", "resolved", "dismissed", "withdrawn"]


def detailed(session: Session, finding: Finding) -> FindingDetail:
    return FindingDetail.model_validate({**service.public(finding), "history": service.history(session, finding)})


@router.get("", response_model=FindingPage)
def list_findings(session: DbDep, principal: PrincipalDep, page: PageDep, manifest_no: str | None = None,
                  code: str | None = None, severity: Severity | None = None, status: Status | None = None,
                  region: str | None = None,
                  raised_from: AwareDatetime | None = Query(None, alias="from"),
                  raised_to: AwareDatetime | None = Query(None, alias="to")):
    rows, next_cursor = service.list_findings(session, principal, page, manifest_no=manifest_no, code=code,
                                              severity=severity, status=status, region=region,
                                              raised_from=raised_from, raised_to=raised_to)
    return FindingPage.of([service.public(f) for f in rows], next_cursor)


@router.get("/{finding_id}", response_model=FindingDetail)
def get_finding(finding_id: int, session: DbDep, principal: PrincipalDep):
    return detailed(session, service.get_visible(session, principal, finding_id))


@router.patch("/{finding_id}", response_model=FindingDetail, responses=responses(409))
def work_finding(finding_id: int, data: FindingPatch, session: DbDep, principal: PrincipalDep):
    return detailed(session, service.work(session, principal, finding_id, data.status, data.note))
