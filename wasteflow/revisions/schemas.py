"""Request and response shapes of revisions and manifest versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from wasteflow.paging import Page
from wasteflow.schemas import Strict

RevisionStatus = Literal["pending", "applied", "refused"]


class RevisionChanges(Strict):
    """What a revision changes: any of these, at least one."""

    waste_code: str | None = Field(default=None, max_length=32)
    declared_kg: int | None = Field(default=None, ge=1, le=1_000_000)
    accepted_kg: int | None = Field(default=None, ge=0, le=1_000_000)
    refused_kg: int | None = Field(default=None, ge=0, le=1_000_000)
    receiver_site_id: int | None = Field(default=None, description="before arrival only")


class RevisionCreate(Strict):
    changes: RevisionChanges
    reason: str = Field(min_length=1, max_length=1000)


class RevisionDecision(Strict):
    note: str | None = Field(default=None, max_length=1000)


class ApprovalPublic(BaseModel):
    enterprise_id: int
    roles: list[str]
    decision: Literal["pending", "approved", "refused"]
    note: str | None
    decided_at: datetime | None


class RevisionPublic(BaseModel):
    id: int
    manifest_no: str
    status: RevisionStatus
    changes: dict[str, Any]
    previous: dict[str, Any] = Field(description="the changed fields' values when it was proposed")
    reason: str
    proposed_by: int
    proposed_at: datetime
    decided_at: datetime | None
    base_version: int
    applied_version: int | None
    approvals: list[ApprovalPublic]


class RevisionPage(Page[RevisionPublic]):
    pass


class ManifestVersionPublic(BaseModel):
    version: int
    values: dict[str, Any]
    replaced_at: datetime = Field(description="when the next version replaced it")
    revision_id: int | None = Field(description="the revision that replaced it")


class ManifestVersions(BaseModel):
    manifest_no: str
    version: int = Field(description="the manifest's current version")
    items: list[ManifestVersionPublic] = Field(description="every earlier version, oldest first")
