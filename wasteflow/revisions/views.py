"""Revision routes: propose on a manifest, approve or refuse, list; a manifest's versions."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session

from wasteflow.api.deps import DbDep, MonitorDep, PageDep, PrincipalDep
from wasteflow.api.problems import responses
from wasteflow.revisions import flows, service
from wasteflow.revisions.models import Revision
from wasteflow.revisions.schemas import (
    ApprovalPublic,
    ManifestVersionPublic,
    ManifestVersions,
    RevisionCreate,
    RevisionDecision,
    RevisionPage,
    RevisionPublic,
    RevisionStatus,
)

router = APIRouter(prefix="/v1", tags=["revisions"], responses=responses(401, 403, 404, 422))


def public(session: Session, revision: Revision) -> RevisionPublic:
    approvals = [ApprovalPublic.model_validate({"enterprise_id": a.enterprise_id, "roles": a.roles.split(","),
                                                "decision": a.decision, "note": a.note, "decided_at": a.decided_at})
                 for a in service.approvals(session, revision)]
    return RevisionPublic.model_validate({**revision.model_dump(), "approvals": approvals})


@router.post("/manifests/{manifest_no}/revisions", status_code=201, response_model=RevisionPublic,
             responses=responses(409))
def propose(manifest_no: str, data: RevisionCreate, session: DbDep, principal: PrincipalDep):
    return public(session, service.propose(session, principal, manifest_no, data))


@router.get("/manifests/{manifest_no}/versions", response_model=ManifestVersions)
def versions(manifest_no: str, session: DbDep, principal: PrincipalDep):
    manifest, rows = service.versions(session, principal, manifest_no)
    return ManifestVersions(manifest_no=manifest.manifest_no, version=manifest.version,
                            items=[ManifestVersionPublic(version=v.version, values=v.values, replaced_at=v.replaced_at,
                                                         revision_id=v.replaced_by_revision_id) for v in rows])


@router.get("/revisions", response_model=RevisionPage)
def list_revisions(session: DbDep, principal: PrincipalDep, page: PageDep, manifest_no: str | None = None,
                   status: RevisionStatus | None = None):
    rows, cursor = service.list_revisions(session, principal, page, manifest_no=manifest_no, status=status)
    return RevisionPage.of([public(session, r) for r in rows], cursor)


@router.get("/revisions/{revision_id}", response_model=RevisionPublic)
def get_revision(revision_id: int, session: DbDep, principal: PrincipalDep):
    return public(session, service.get_visible(session, principal, revision_id))


@router.post("/revisions/{revision_id}/approve", response_model=RevisionPublic, responses=responses(409))
def approve(revision_id: int, session: DbDep, principal: PrincipalDep, monitor: MonitorDep,
            data: RevisionDecision | None = None):
    note = data.note if data else None
    return public(session, flows.decide(session, principal, revision_id, "approved", note, reconciler=monitor))


@router.post("/revisions/{revision_id}/refuse", response_model=RevisionPublic, responses=responses(409))
def refuse(revision_id: int, session: DbDep, principal: PrincipalDep, monitor: MonitorDep,
           data: RevisionDecision | None = None):
    note = data.note if data else None
    return public(session, flows.decide(session, principal, revision_id, "refused", note, reconciler=monitor))
