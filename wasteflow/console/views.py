"""The regulator's console: a page and its script and style, shipped in the package, served under ``/console``.

Everything the console shows it reads from the public API with the key the user typed (kept in
the tab's ``sessionStorage``); it loads nothing from the internet.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from wasteflow.api.deps import DbDep, PrincipalDep, SettingsDep
from wasteflow.auth.service import display_name
from wasteflow.console.schemas import ConsoleMe
from wasteflow.errors import NotFound

router = APIRouter(tags=["console"], include_in_schema=False)

STATIC = files("wasteflow.console") / "static"
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "connect-src 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def _file(name: str) -> Response:
    suffix = name[name.rfind("."):] if "." in name else ""
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in MEDIA_TYPES:
        raise NotFound(f"no console file {name}")
    resource = STATIC / name
    if not resource.is_file():
        raise NotFound(f"no console file {name}")
    return Response(resource.read_bytes(), media_type=MEDIA_TYPES[suffix], headers=SECURITY_HEADERS)


@router.get("/console")
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
def console_index() -> Response:
    return _file("index.html")


@router.get("/console/me", response_model=ConsoleMe)
def console_me(session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    """Who the key belongs to, so the console can say so (and refuse enterprises politely)."""
    return ConsoleMe(kind=principal.kind, label=principal.label, name=display_name(session, principal),
                     regions=list(principal.regions), oversight=principal.is_admin or principal.is_regulator,
                     timezone=settings.timezone)


@router.get("/console/{name}")
def console_file(name: str) -> Response:
    return _file(name)
