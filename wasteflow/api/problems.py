"""Every error as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wasteflow.errors import PROBLEM_BASE, DomainError

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemField(BaseModel):
    field: str
    rule: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details: ``rule`` and ``errors`` say which rule a request broke, on which field."""

    type: str
    title: str
    status: int
    detail: str | None = None
    rule: str | None = None
    current_state: str | None = None
    errors: list[ProblemField] | None = None


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problem_response(body: dict) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if body.get("status") == 401 else None
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_path(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    _document_problems(app)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError):
        return problem_response(exc.problem())

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        errors = [{"field": _field_path(e["loc"]), "rule": e["type"], "detail": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "detail": "invalid request"}
        return problem_response({"type": PROBLEM_BASE + "validation", "title": "The request is not valid",
                                 "status": 422, "detail": f"{first['field']}: {first['detail']}",
                                 "rule": "validation", "errors": errors})

    @app.exception_handler(OverflowError)
    @app.exception_handler(StatementError)
    async def out_of_range(_request: Request, exc: Exception):
        # a number or time the database cannot hold (an id beyond 64 bits, a time that leaves years 1–9999
        # in UTC): the input's fault, not a 500. Any other database error stays a 500.
        if isinstance(exc, StatementError) and not (isinstance(exc, DataError)
                                                    or isinstance(exc.orig, OverflowError)):
            raise exc
        detail = "a number or time in the request is out of the range the database can hold"
        return problem_response({"type": PROBLEM_BASE + "validation", "title": "The request is not valid",
                                 "status": 422, "detail": detail, "rule": "out_of_range",
                                 "errors": [{"field": "body", "rule": "out_of_range", "detail": detail}]})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 413: "Request too large"}
        return problem_response({"type": PROBLEM_BASE + str(exc.status_code), "status": exc.status_code,
                                 "title": titles.get(exc.status_code, "Error"), "detail": str(exc.detail)})


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problems a route can answer."""
    descriptions = {400: "Bad request", 401: "No key, or an unknown one", 403: "Not allowed for this caller",
                    404: "Not found, or not the caller's to see", 409: "Not allowed in the current state",
                    413: "Request too large", 422: "A rule was broken: which rule, which field"}
    return {s: {"description": descriptions[s], "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}
            for s in statuses}


def _document_problems(app: FastAPI) -> None:
    """Name :class:`Problem` among the OpenAPI document's schemas, where every problem response refers to it."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem.pop("$defs", {}), Problem=problem)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
