"""``GET /v1/manifests/{no}/ledger``: a manifest's entries in the ledger, in chain order."""

from fastapi import APIRouter

from wasteflow.api.deps import DbDep, PrincipalDep
from wasteflow.api.problems import responses
from wasteflow.ledger import service
from wasteflow.ledger.schemas import ManifestLedger
from wasteflow.manifests.service import get_visible

router = APIRouter(prefix="/v1/manifests", tags=["ledger"], responses=responses(401, 404, 422))


@router.get("/{manifest_no}/ledger", response_model=ManifestLedger)
def manifest_ledger(manifest_no: str, session: DbDep, principal: PrincipalDep):
    """Every ledger entry naming this manifest (state changes, signatures, tickets, findings), oldest first.

    Whoever may see the manifest may see its history; each entry carries its ``seq`` and ``hash``, so it
    can be found in a full export (``GET /v1/ledger/export``) and checked there.
    """
    get_visible(session, principal, manifest_no)
    return ManifestLedger.model_validate({"manifest_no": manifest_no, "entries": service.history(session, manifest_no)})
