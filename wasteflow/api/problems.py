"""Every error as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wasteflow.errors import PROBLEM_BASE, DomainError

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "rule": {"type": "string"}, "current_state": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "rule": {"type": "string"}, "detail": {"type": "string"}}}},
    },
    "required": ["type", "title", "status"],
}


def problem_response(body: dict) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if body.get("status") == 401 else None
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_path(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
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


def responses(*statuses: int) -> dict:
    """OpenAPI ``responses`` entries for the problems a route can answer."""
    descriptions = {400: "Bad request", 401: "No key, or an unknown one", 403: "Not allowed for this caller",
                    404: "Not found, or not the caller's to see", 409: "Not allowed in the current state",
                    413: "Request too large", 422: "A rule was broken: which rule, which field"}
    return {s: {"description": descriptions[s], "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}
            for s in statuses}
