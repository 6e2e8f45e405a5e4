"""What every route needs: the database, the settings, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from wasteflow.auth.service import Principal, authenticate
from wasteflow.config import Settings
from wasteflow.database import session_scope

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer wf_...`")


@dataclass
class Db:
    engine: Engine

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One request, one transaction: it commits only if the whole service call succeeded."""
        with session_scope(self.engine) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session


def get_db(request: Request) -> Db:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_principal(request: Request,
                  credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    header = f"Bearer {credentials.credentials}" if credentials else request.headers.get("authorization")
    with Session(request.app.state.db.engine) as session:
        return authenticate(session, header)
