"""What a decision on a revision sets in motion: once applied to a received manifest, its trip is
reconciled again over the new values (accepted + refused against the arrival net, the new code's
tolerance), in the decision's own transaction."""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from wasteflow.auth.service import Principal
from wasteflow.manifests.models import Manifest
from wasteflow.revisions import service
from wasteflow.revisions.models import Revision

RECONCILED_AGAIN = ("received", "reconciled")


class Reconciler(Protocol):
    def reconcile(self, session: Session, manifest: Manifest) -> object: ...


def decide(session: Session, principal: Principal, revision_id: int, decision: str, note: str | None,
           reconciler: Reconciler) -> Revision:
    revision, applied = service.decide(session, principal, revision_id, decision, note)
    if applied:
        manifest = session.get(Manifest, revision.manifest_id)
        if manifest is not None and manifest.status in RECONCILED_AGAIN:
            session.flush()
            reconciler.reconcile(session, manifest)
    return revision
