"""Regulators and their keys (administrator only)."""

from fastapi import APIRouter

from wasteflow.api.deps import DbDep, PrincipalDep
from wasteflow.api.problems import responses
from wasteflow.auth import service
from wasteflow.auth.schemas import KeyIssued, RegulatorCreate
from wasteflow.schemas import Created, EmptyBody

router = APIRouter(prefix="/v1/regulators", tags=["regulators"], responses=responses(401, 403, 422))


@router.post("", status_code=201, response_model=Created)
def create_regulator(data: RegulatorCreate, session: DbDep, principal: PrincipalDep):
    principal.require_admin()
    return Created(id=service.create_regulator(session, data.name, data.regions).id)


@router.post("/{regulator_id}/keys", status_code=201, response_model=KeyIssued, responses=responses(404))
def issue_key(regulator_id: int, session: DbDep, principal: PrincipalDep, data: EmptyBody | None = None):
    principal.require_admin()
    return KeyIssued(key=service.issue_regulator_key(session, regulator_id))
