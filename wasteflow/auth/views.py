"""Regulators and their keys (administrator only)."""

from fastapi import APIRouter, Depends
from pydantic import Field

from wasteflow.api.deps import Db, get_db, get_principal
from wasteflow.api.problems import responses
from wasteflow.auth import service
from wasteflow.auth.service import Principal
from wasteflow.registry.schemas import Created, KeyIssued, Strict

router = APIRouter(prefix="/v1/regulators", tags=["regulators"], responses=responses(401, 403, 422))


class RegulatorCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Baotou enforcement"])
    regions: list[str] = Field(min_length=1, examples=[["1502"]],
                               description="region-code prefixes: 2 digits a province, 4 a city, 6 a district")


class EmptyBody(Strict):
    pass


@router.post("", status_code=201, response_model=Created)
def create_regulator(data: RegulatorCreate, principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    principal.require_admin()
    with db.transaction() as session:
        return Created(id=service.create_regulator(session, data.name, data.regions).id)


@router.post("/{regulator_id}/keys", status_code=201, response_model=KeyIssued, responses=responses(404))
def issue_key(regulator_id: int, data: EmptyBody | None = None, principal: Principal = Depends(get_principal),
              db: Db = Depends(get_db)):
    principal.require_admin()
    with db.transaction() as session:
        return KeyIssued(key=service.issue_regulator_key(session, regulator_id))
