"""Ledger routes: verify the chain, export it for offline verification."""

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from wasteflow.api.deps import Db, get_db, get_principal
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.ledger import service
from wasteflow.ledger_verify import canonical_json

router = APIRouter(prefix="/v1/ledger", tags=["ledger"], responses=responses(401, 403))


@router.get("/verify", responses={200: {"content": {"application/json": {"examples": {
    "ok": {"value": {"ok": True, "entries": 1204}},
    "broken": {"value": {"ok": False, "entries": 1204, "broken_at": 311, "reason": "content does not match its hash (the entry was edited)"}}}}}}})
def verify(principal: Principal = Depends(get_principal), db: Db = Depends(get_db)) -> dict:
    principal.require_oversight()
    with db.reading() as session:
        return service.verify(session)


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON Lines, one entry a line"}})
def export(principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    principal.require_oversight()

    def lines():
        with Session(db.engine) as session:
            for entry in service.iter_entries(session):
                yield canonical_json(entry) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="wasteflow-ledger.jsonl"'})
