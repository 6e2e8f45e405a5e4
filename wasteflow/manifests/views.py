"""Manifest routes: thin, over :mod:`wasteflow.manifests.service`."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlmodel import Session

from wasteflow.api.deps import DbDep, MonitorDep, PageDep, PrincipalDep, SettingsDep
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.findings import service as findings
from wasteflow.findings.schemas import FindingPublic
from wasteflow.manifests import flows, legs, service
from wasteflow.manifests.models import Manifest
from wasteflow.manifests.schemas import (
    CancelSignature,
    DispatchSignature,
    FiledManifest,
    FollowUpPublic,
    HandoverSignature,
    LegCreate,
    LegPublic,
    ManifestCreate,
    ManifestPage,
    ManifestPublic,
    ManifestStatus,
    ReceiveSignature,
    RejectSignature,
)
from wasteflow.tickets.schemas import TicketPublic
from wasteflow.tickets.service import visible_linked_ticket
from wasteflow.tracks import service as tracks
from wasteflow.tracks.schemas import TripSummary

router = APIRouter(prefix="/v1/manifests", tags=["manifests"], responses=responses(401, 403, 404, 422))


def detailed(session: Session, principal: Principal, manifest: Manifest) -> ManifestPublic:
    """The manifest with its tickets, its trip so far and its findings (``GET /v1/manifests/{no}``)."""
    public = ManifestPublic.model_validate(manifest, from_attributes=True)
    for direction in ("departure", "arrival"):
        ticket = visible_linked_ticket(session, principal, manifest.manifest_no, direction)
        if ticket is not None:
            setattr(public, f"{direction}_ticket", TicketPublic.model_validate(ticket, from_attributes=True))
    fixes, loads = tracks.trip_fixes(session, manifest), tracks.trip_loads(session, manifest)
    public.trip = TripSummary.model_validate(tracks.trip_summary(fixes, loads))
    public.findings = [FindingPublic.model_validate(findings.public(f))
                       for f in findings.for_manifest(session, manifest.manifest_no)]
    public.legs = [LegPublic.model_validate(leg, from_attributes=True) for leg in legs.all_legs(session, manifest)]
    public.follow_ups = [FollowUpPublic.model_validate(m, from_attributes=True)
                         for m in service.follow_ups(session, principal, manifest.manifest_no)]
    return public


@router.post("", status_code=201, response_model=FiledManifest)
def file_manifest(data: ManifestCreate, session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    manifest = service.file_manifest(session, principal, data, settings)
    return FiledManifest(manifest_no=manifest.manifest_no, status=manifest.status)


@router.get("", response_model=ManifestPage)
def list_manifests(session: DbDep, principal: PrincipalDep, page: PageDep, status: ManifestStatus | None = None,
                   waste_code: str | None = None,
                   party: int | None = Query(None, description="an enterprise id: generator, transporter or receiver"),
                   plate: str | None = None, region: str | None = None,
                   filed_from: AwareDatetime | None = Query(None, alias="from"),
                   filed_to: AwareDatetime | None = Query(None, alias="to")):
    return ManifestPage.of(*service.list_manifests(session, principal, page, status=status, waste_code=waste_code,
                                                   party=party, plate=plate, region=region, filed_from=filed_from,
                                                   filed_to=filed_to))


@router.get("/{manifest_no}", response_model=ManifestPublic)
def get_manifest(manifest_no: str, session: DbDep, principal: PrincipalDep):
    return detailed(session, principal, service.get_visible(session, principal, manifest_no))


@router.post("/{manifest_no}/dispatch", response_model=ManifestPublic, responses=responses(409))
def dispatch(manifest_no: str, session: DbDep, principal: PrincipalDep, settings: SettingsDep,
             data: DispatchSignature | None = None):
    manifest = flows.dispatch(session, principal, manifest_no, data or DispatchSignature(), settings)
    return detailed(session, principal, manifest)


@router.post("/{manifest_no}/receive", response_model=ManifestPublic, responses=responses(409))
def receive(manifest_no: str, data: ReceiveSignature, session: DbDep, principal: PrincipalDep,
            settings: SettingsDep, monitor: MonitorDep):
    manifest = flows.receive(session, principal, manifest_no, data, settings, reconciler=monitor)
    return detailed(session, principal, manifest)


@router.post("/{manifest_no}/reject", response_model=ManifestPublic, responses=responses(409))
def reject(manifest_no: str, data: RejectSignature, session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    return detailed(session, principal, flows.reject(session, principal, manifest_no, data, settings))


@router.post("/{manifest_no}/cancel", response_model=ManifestPublic, responses=responses(409))
def cancel(manifest_no: str, session: DbDep, principal: PrincipalDep, settings: SettingsDep,
           data: CancelSignature | None = None):
    manifest = service.cancel(session, principal, manifest_no, data or CancelSignature(), settings)
    return detailed(session, principal, manifest)


@router.post("/{manifest_no}/legs", response_model=ManifestPublic, responses=responses(409))
def add_leg(manifest_no: str, data: LegCreate, session: DbDep, principal: PrincipalDep):
    return detailed(session, principal, legs.add_leg(session, principal, manifest_no, data))


@router.post("/{manifest_no}/handover", response_model=ManifestPublic, responses=responses(409))
def handover(manifest_no: str, data: HandoverSignature, session: DbDep, principal: PrincipalDep,
             settings: SettingsDep):
    return detailed(session, principal, flows.handover(session, principal, manifest_no, data, settings))
