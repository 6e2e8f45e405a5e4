"""Ledger routes: verify the chain, export it for offline verification."""

from functools import partial

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from wasteflow.api.deps import DbDep, PrincipalDep
from wasteflow.api.problems import responses
from wasteflow.ledger import service
from wasteflow.ledger.schemas import LedgerVerification
from wasteflow.ledger_verify import canonical_json
from wasteflow.manifests import service as manifest_service

router = APIRouter(prefix="/v1/ledger", tags=["ledger"], responses=responses(401, 403))


@router.get("/verify", response_model=LedgerVerification,
            responses={200: {"content": {"application/json": {"examples": {
                "ok": {"value": {"ok": True, "entries": 1204, "head_hash": "9f2c…"}},
                "broken": {"value": {"ok": False, "entries": 1204, "broken_at": 311,
                                     "reason": "content does not match its hash (the entry was edited)"}}}}}}})
def verify(session: DbDep, principal: PrincipalDep):
    principal.require_oversight()
    return service.verify(session)


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON Lines, one entry a line"}})
def export(session: DbDep, principal: PrincipalDep):
    """The whole chain; a regulator reads its regions' entries, the others as digests (api.md)."""
    principal.require_oversight()
    readable = None if principal.is_admin else partial(manifest_service.visible_numbers, session, principal)
    lines = (canonical_json(entry) + "\n" for entry in service.iter_entries_for(session, readable))
    return StreamingResponse(lines, media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="wasteflow-ledger.jsonl"'})
