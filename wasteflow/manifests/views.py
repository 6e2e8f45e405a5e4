"""Manifest routes: thin, over :mod:`wasteflow.manifests.service`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime
from sqlmodel import Session

from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.findings import service as findings
from wasteflow.manifests import service
from wasteflow.manifests.models import Manifest
from wasteflow.manifests.schemas import (
    CancelSignature,
    DispatchSignature,
    FiledManifest,
    ManifestCreate,
    ManifestPage,
    ManifestPublic,
    ReceiveSignature,
    RejectSignature,
    TicketPublic,
)
from wasteflow.tickets.service import linked_ticket
from wasteflow.tracks import service as tracks

router = APIRouter(prefix="/v1/manifests", tags=["manifests"], responses=responses(401, 403, 404, 422))


def summary(manifest: Manifest) -> ManifestPublic:
    return ManifestPublic.model_validate(manifest, from_attributes=True)


def detailed(session: Session, manifest: Manifest) -> ManifestPublic:
    public = summary(manifest)
    for direction in ("departure", "arrival"):
        ticket = linked_ticket(session, manifest.manifest_no, direction)
        if ticket is not None:
            setattr(public, f"{direction}_ticket", TicketPublic.model_validate(ticket, from_attributes=True))
    public.trip = tracks.trip_summary(tracks.trip_fixes(session, manifest), tracks.trip_loads(session, manifest))
    public.findings = [findings.public(f) for f in findings.for_manifest(session, manifest.manifest_no)]
    return public


@router.post("", status_code=201, response_model=FiledManifest)
def file_manifest(data: ManifestCreate, principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                  settings: Settings = Depends(get_settings)):
    with db.transaction() as session:
        manifest = service.file_manifest(session, principal, data, settings)
        return FiledManifest(manifest_no=manifest.manifest_no, status=manifest.status)


@router.get("", response_model=ManifestPage)
def list_manifests(status: Literal["filed", "dispatched", "in_transit", "arrived", "received", "reconciled",
                                  "rejected", "cancelled"] | None = None, waste_code: str | None = None,
                   party: int | None = Query(None, description="an enterprise id: generator, transporter or receiver"),
                   plate: str | None = None, region: str | None = None,
                   filed_from: AwareDatetime | None = Query(None, alias="from"),
                   filed_to: AwareDatetime | None = Query(None, alias="to"),
                   cursor: str | None = None, limit: int | None = Query(None, ge=1),
                   principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                   settings: Settings = Depends(get_settings)):
    limit = min(limit or settings.page_size_default, settings.page_size_max)
    with db.reading() as session:
        rows, next_cursor = service.list_manifests(
            session, principal, status=status, waste_code=waste_code, party=party, plate=plate, region=region,
            filed_from=filed_from, filed_to=filed_to, cursor=cursor, limit=limit)
        return ManifestPage(items=[summary(m) for m in rows], next_cursor=next_cursor)


@router.get("/{manifest_no}", response_model=ManifestPublic)
def get_manifest(manifest_no: str, principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.reading() as session:
        return detailed(session, service.get_visible(session, principal, manifest_no))


def _transition(action, manifest_no: str, data, principal: Principal, db: Db, settings: Settings) -> ManifestPublic:
    with db.transaction() as session:
        manifest = action(session, principal, manifest_no, data, settings)
        session.flush()
        return detailed(session, manifest)


@router.post("/{manifest_no}/dispatch", response_model=ManifestPublic, responses=responses(409))
def dispatch(manifest_no: str, data: DispatchSignature | None = None, principal: Principal = Depends(get_principal),
             db: Db = Depends(get_db), settings: Settings = Depends(get_settings)):
    return _transition(service.dispatch, manifest_no, data or DispatchSignature(), principal, db, settings)


@router.post("/{manifest_no}/receive", response_model=ManifestPublic, responses=responses(409))
def receive(manifest_no: str, data: ReceiveSignature, principal: Principal = Depends(get_principal),
            db: Db = Depends(get_db), settings: Settings = Depends(get_settings)):
    return _transition(service.receive, manifest_no, data, principal, db, settings)


@router.post("/{manifest_no}/reject", response_model=ManifestPublic, responses=responses(409))
def reject(manifest_no: str, data: RejectSignature, principal: Principal = Depends(get_principal),
           db: Db = Depends(get_db), settings: Settings = Depends(get_settings)):
    return _transition(service.reject, manifest_no, data, principal, db, settings)


@router.post("/{manifest_no}/cancel", response_model=ManifestPublic, responses=responses(409))
def cancel(manifest_no: str, data: CancelSignature | None = None, principal: Principal = Depends(get_principal),
           db: Db = Depends(get_db), settings: Settings = Depends(get_settings)):
    return _transition(service.cancel, manifest_no, data or CancelSignature(), principal, db, settings)
