"""Findings routes: list with filters, work them through their workflow."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import or_
from sqlmodel import Session, select

from wasteflow.api.cursors import decode_cursor, encode_cursor
from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.errors import NotFound
from wasteflow.findings import service
from wasteflow.findings.models import Finding, FindingEvent
from wasteflow.findings.workflow import check_move
from wasteflow.manifests.models import Manifest
from wasteflow.registry.models import Site
from wasteflow.registry.schemas import Strict

router = APIRouter(prefix="/v1/findings", tags=["findings"], responses=responses(401, 403, 404, 422))


class FindingPatch(Strict):
    status: Literal["acknowledged", "investigating", "resolved", "dismissed"]
    note: str = Field(min_length=1, max_length=4000, description="why: every move carries a note")


class FindingPage(BaseModel):
    items: list[dict]
    next_cursor: str | None


def _visible(query, principal: Principal):
    query = query.outerjoin(Manifest, Manifest.manifest_no == Finding.manifest_no)
    if principal.is_admin:
        return query
    if principal.kind == "enterprise":
        me = principal.enterprise_id
        own_sites = select(Site.id).where(Site.enterprise_id == me)
        return query.where(or_(Manifest.generator_id == me, Manifest.transporter_id == me,
                               Manifest.receiver_id == me, Finding.site_id.in_(own_sites)))
    conditions = []
    for prefix in principal.regions:
        conditions += [Finding.region_code.startswith(prefix), Manifest.receiver_region_code.startswith(prefix)]
    return query.where(or_(*conditions))


@router.get("", response_model=FindingPage)
def list_findings(manifest_no: str | None = None, code: str | None = None,
                  severity: Literal["info", "warning", "critical"] | None = None,
                  status: Literal["open", "acknowledged", "investigating", "resolved", "dismissed", "withdrawn"] | None = None,
                  region: str | None = None,
                  raised_from: AwareDatetime | None = Query(None, alias="from"),
                  raised_to: AwareDatetime | None = Query(None, alias="to"),
                  cursor: str | None = None, limit: int | None = Query(None, ge=1),
                  principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                  settings: Settings = Depends(get_settings)):
    limit = min(limit or settings.page_size_default, settings.page_size_max)
    query = _visible(select(Finding), principal).order_by(Finding.id.desc()).limit(limit + 1)
    filters = {Finding.manifest_no: manifest_no, Finding.code: code, Finding.severity: severity,
               Finding.status: status}
    for column, value in filters.items():
        if value:
            query = query.where(column == value)
    if region:
        query = query.where(Finding.region_code.startswith(region))
    if raised_from:
        query = query.where(Finding.window_end >= raised_from)
    if raised_to:
        query = query.where(Finding.window_start < raised_to)
    if cursor:
        query = query.where(Finding.id < decode_cursor("f", cursor))
    with db.reading() as session:
        rows = list(session.exec(query).all())
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor("f", rows[limit - 1].id)
    return FindingPage(items=[service.public(f) for f in rows[:limit]], next_cursor=next_cursor)


def _get_visible(session: Session, principal: Principal, finding_id: int) -> Finding:
    finding = session.exec(_visible(select(Finding), principal).where(Finding.id == finding_id)).first()
    if finding is None:
        raise NotFound(f"no finding {finding_id}")
    return finding


@router.get("/{finding_id}")
def get_finding(finding_id: int, principal: Principal = Depends(get_principal), db: Db = Depends(get_db)) -> dict:
    with db.reading() as session:
        finding = _get_visible(session, principal, finding_id)
        return {**service.public(finding), "history": _history(session, finding_id)}


@router.patch("/{finding_id}", responses=responses(409))
def work_finding(finding_id: int, data: FindingPatch, principal: Principal = Depends(get_principal),
                 db: Db = Depends(get_db)) -> dict:
    with db.transaction() as session:
        finding = _get_visible(session, principal, finding_id)
        principal.require_oversight()
        check_move(finding.status, data.status)
        service.set_status(session, finding, data.status, principal.label, data.note)
        session.flush()
        return {**service.public(finding), "history": _history(session, finding_id)}


def _history(session: Session, finding_id: int) -> list[dict]:
    events = session.exec(select(FindingEvent).where(FindingEvent.finding_id == finding_id)
                          .order_by(FindingEvent.id)).all()
    return [{"at": e.at, "by": e.actor, "from": e.from_status, "status": e.to_status, "note": e.note} for e in events]
