"""API keys: list the ones the caller may see, revoke one (api.md)."""

from fastapi import APIRouter

from wasteflow.api.deps import DbDep, PageDep, PrincipalDep
from wasteflow.api.problems import responses
from wasteflow.auth import service
from wasteflow.auth.schemas import KeyPage, KeyPublic
from wasteflow.schemas import EmptyBody

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=responses(401, 422))


@router.get("", response_model=KeyPage)
def list_keys(session: DbDep, principal: PrincipalDep, page: PageDep):
    return KeyPage.of(*service.list_keys(session, principal, page))


@router.post("/{key_id}/revoke", response_model=KeyPublic, responses=responses(404))
def revoke_key(key_id: int, session: DbDep, principal: PrincipalDep, data: EmptyBody | None = None):
    return KeyPublic.model_validate(service.revoke_key(session, principal, key_id), from_attributes=True)
