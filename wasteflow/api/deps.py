"""What a route needs, by name: the request's session, who is calling, the settings, the monitor, a page.

As in the full-stack FastAPI template's ``api/deps.py``, a route declares what it needs as typed
parameters (``session: DbDep, principal: PrincipalDep``); ``Depends(...)`` is written here, once.
Everything comes from ``app.state``, which ``create_app`` fills, so two apps in one process (the
tests make many) never share a monitor or an engine by accident.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from wasteflow.auth.service import Principal, authenticate
from wasteflow.config import Settings
from wasteflow.monitoring.monitor import Monitor
from wasteflow.paging import PageRequest

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer wf_...`")


def open_session(request: Request) -> Iterator[Session]:
    """The request's one session, open until the response has been sent (a streamed export reads through it)."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def transaction(session: Annotated[Session, Depends(open_session, scope="request")]) -> Iterator[Session]:
    """One request, one transaction: it commits when the route returns, before the response is sent, and
    rolls back if anything raised, so a failed request changes nothing."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


DbDep = Annotated[Session, Depends(transaction, scope="function")]


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


def get_principal(request: Request, session: DbDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """Who the API key belongs to, read in the request's own session; 401 without a known key."""
    header = f"Bearer {credentials.credentials}" if credentials else request.headers.get("authorization")
    return authenticate(session, header)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_monitor(request: Request) -> Monitor:
    """The app's monitor: it reconciles a trip at receipt and knows every site and zone."""
    return request.app.state.monitor


MonitorDep = Annotated[Monitor, Depends(get_monitor)]


class Paging:
    """``cursor`` and ``limit`` query parameters as a :class:`PageRequest` (dispatch's ``CommonParameters``).

    ``limit`` defaults to ``default`` (the ``page_size_default`` setting when not given) and is held to
    the ``page_size_max`` setting.
    """

    def __init__(self, default: int | None = None) -> None:
        self.default = default

    def __call__(self, settings: SettingsDep, cursor: str | None = None,
                 limit: Annotated[int | None, Query(ge=1)] = None) -> PageRequest:
        return PageRequest.clamped(limit, cursor, self.default or settings.page_size_default, settings.page_size_max)


PageDep = Annotated[PageRequest, Depends(Paging())]
