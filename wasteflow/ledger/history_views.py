"""``GET /v1/manifests/{no}/ledger``: a manifest's entries in the ledger, in chain order."""

from fastapi import APIRouter, Depends

from wasteflow.api.deps import Db, get_db, get_principal
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.ledger import service
from wasteflow.manifests.service import get_visible

router = APIRouter(prefix="/v1/manifests", tags=["ledger"], responses=responses(401, 404))


@router.get("/{manifest_no}/ledger")
def manifest_ledger(manifest_no: str, principal: Principal = Depends(get_principal),
                    db: Db = Depends(get_db)) -> dict:
    """Every ledger entry naming this manifest (state changes, signatures, tickets, findings), oldest first.

    Whoever may see the manifest may see its history; each entry carries its ``seq`` and ``hash``, so it
    can be found in a full export (``GET /v1/ledger/export``) and checked there.
    """
    with db.reading() as session:
        get_visible(session, principal, manifest_no)
        return {"manifest_no": manifest_no, "entries": service.history(session, manifest_no)}
