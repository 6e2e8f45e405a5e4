"""API keys and who a request acts as.

A key is ``wf_`` and 40 random URL-safe characters; the database keeps only its
SHA-256, which is enough for a secret with that much entropy.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, or_
from sqlmodel import Session, col, select

from wasteflow.auth.models import ApiKey, Regulator
from wasteflow.database import Query, lock_for_writing, utcnow
from wasteflow.errors import Forbidden, NotFound, Unauthorized
from wasteflow.paging import PageRequest, keyset_page
from wasteflow.registry.models import Enterprise
from wasteflow.registry.rules import check_region_prefix


@dataclass(frozen=True)
class Principal:
    kind: str  # admin | regulator | enterprise
    enterprise_id: int | None = None
    roles: tuple[str, ...] = ()
    regulator_id: int | None = None
    regions: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        if self.kind == "enterprise":
            return f"enterprise:{self.enterprise_id}"
        if self.kind == "regulator":
            return f"regulator:{self.regulator_id}"
        return "admin"

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def is_regulator(self) -> bool:
        return self.kind == "regulator"

    def covers_region(self, region_code: str) -> bool:
        """Admins see every region; a regulator the ones under its prefixes."""
        if self.is_admin:
            return True
        return self.is_regulator and any(region_code.startswith(p) for p in self.regions)

    def require_oversight(self) -> None:
        if not (self.is_admin or self.is_regulator):
            raise Forbidden("only a regulator or the administrator may do this")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("only the administrator may do this")


def in_jurisdiction(principal: Principal, *region_columns: Any) -> ColumnElement[bool]:
    """:meth:`Principal.covers_region` in SQL, for a regulator: one of the columns lies under one of its prefixes.

    Visibility rules (each kind's ``visible(query, principal)``) put a regulator's jurisdiction in a
    query through this; it never matches for anyone else.
    """
    if not principal.is_regulator:
        return false()
    return or_(false(), *[column.startswith(prefix) for column in region_columns for prefix in principal.regions])


def display_name(session: Session, principal: Principal) -> str:
    """The name of whom the key belongs to: the regulator's, the enterprise's, or "administrator"."""
    owner: Regulator | Enterprise | None = None
    if principal.is_regulator:
        owner = session.get(Regulator, principal.regulator_id)
    elif principal.kind == "enterprise":
        owner = session.get(Enterprise, principal.enterprise_id)
    return owner.name if owner is not None else "administrator"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_key(session: Session, owner_kind: str, enterprise_id: int | None = None,
              regulator_id: int | None = None) -> str:
    key = "wf_" + secrets.token_urlsafe(30)
    session.add(ApiKey(key_hash=hash_key(key), prefix=key[:10], owner_kind=owner_kind,
                       enterprise_id=enterprise_id, regulator_id=regulator_id))
    return key


def authenticate(session: Session, authorization: str | None) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("send 'Authorization: Bearer <api key>'")
    key = authorization[7:].strip()
    api_key = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if api_key is None:
        raise Unauthorized("unknown API key")
    if api_key.revoked_at is not None:
        raise Unauthorized(f"this API key ({api_key.prefix}…) was revoked at {api_key.revoked_at.isoformat()}; "
                           "ask its owner or your regulator for a new one", rule="key_revoked")
    if api_key.owner_kind == "enterprise":
        enterprise = session.get(Enterprise, api_key.enterprise_id)
        return Principal("enterprise", enterprise_id=enterprise.id, roles=tuple(enterprise.roles))
    if api_key.owner_kind == "regulator":
        regulator = session.get(Regulator, api_key.regulator_id)
        return Principal("regulator", regulator_id=regulator.id, regions=tuple(regulator.regions))
    return Principal("admin")


def create_regulator(session: Session, name: str, regions: list[str]) -> Regulator:
    for prefix in regions:
        check_region_prefix(prefix)
    regulator = Regulator(name=name, regions=sorted(set(regions)))
    session.add(regulator)
    session.flush()
    return regulator


def issue_regulator_key(session: Session, regulator_id: int) -> str:
    if session.get(Regulator, regulator_id) is None:
        raise NotFound(f"no regulator {regulator_id}")
    return issue_key(session, "regulator", regulator_id=regulator_id)


def bootstrap_admin(session: Session) -> str:
    return issue_key(session, "admin")


# --- keys: listing and revocation (api.md) ---------------------------------------------------

def visible_keys(query: Query, principal: Principal) -> Query:
    """An enterprise its own keys; a regulator its own and its regions' enterprises'; the administrator all."""
    if principal.is_admin:
        return query
    if principal.kind == "enterprise":
        return query.where(col(ApiKey.enterprise_id) == principal.enterprise_id)
    in_region = select(Enterprise.id).where(in_jurisdiction(principal, Enterprise.region_code))
    return query.where(or_(col(ApiKey.regulator_id) == principal.regulator_id,
                           col(ApiKey.enterprise_id).in_(in_region)))


def list_keys(session: Session, principal: Principal, page: PageRequest) -> tuple[list[ApiKey], str | None]:
    """Oldest first; each key's prefix, owner and dates, never its value (only the hash is kept anyway)."""
    return keyset_page(session, visible_keys(select(ApiKey), principal), ApiKey.id, "k", page, newest_first=False)


def revoke_key(session: Session, principal: Principal, key_id: int) -> ApiKey:
    """From this commit on the key answers 401; revoking it again changes nothing."""
    lock_for_writing(session)
    api_key = session.exec(visible_keys(select(ApiKey).where(col(ApiKey.id) == key_id), principal)
                           .with_for_update()).first()
    if api_key is None:
        raise NotFound(f"no API key {key_id}")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        session.add(api_key)
        session.flush()
    return api_key
