"""The FastAPI application: routers, problem details, request limits."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.responses import PlainTextResponse

from wasteflow import __version__
from wasteflow.api import problems
from wasteflow.config import Settings, get_settings
from wasteflow.database import get_engine
from wasteflow.errors import PROBLEM_BASE, NotFound, Unauthorized
from wasteflow.monitoring.monitor import Monitor
from wasteflow.schemas import Health
from wasteflow.sealing import sealer_for

DESCRIPTION = """Industrial solid waste from the firm that makes it, on the truck that carries it,
to the plant or landfill that takes it. Every request carries `Authorization: Bearer <api key>`;
errors are RFC 9457 problem details naming the rule and the field."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="wasteflow", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = get_engine(settings.database_url)
    sealer_for(app.state.engine.url, settings.secret_key)  # PostgreSQL without WASTEFLOW_SECRET_KEY stops here
    app.state.monitor = Monitor(settings)
    problems.install(app)
    _limit_request_size(app, settings.max_request_bytes)
    _include_routers(app)

    @app.get("/healthz", tags=["operations"], response_model=Health)
    def healthz():
        return Health(status="ok", version=__version__)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition"},
                        **problems.responses(401, 404)})
    def metrics(authorization: Annotated[str | None, Header()] = None) -> str:
        """For the operator only: behind ``WASTEFLOW_METRICS_KEY``, and not served without one."""
        from wasteflow.metrics import render
        check_metrics_key(settings.metrics_key, authorization)
        return render(app.state.engine)

    return app


def check_metrics_key(expected: str, authorization: str | None) -> None:
    """Metrics name quarantine reasons, manifest counts and the telemetry lag of every region: not
    for API keys. Without a metrics key the route answers 404, as if absent; with one, a request
    must bear it (compared in constant time)."""
    if not expected:
        raise NotFound("/metrics is not served on the API port without WASTEFLOW_METRICS_KEY")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("/metrics needs the metrics key (Authorization: Bearer <WASTEFLOW_METRICS_KEY>)")


def _include_routers(app: FastAPI) -> None:
    from wasteflow.auth.key_views import router as keys
    from wasteflow.auth.views import router as regulators
    from wasteflow.console.views import router as console
    from wasteflow.exports.views import router as exports
    from wasteflow.findings.stats_views import router as finding_stats
    from wasteflow.findings.views import router as findings
    from wasteflow.flows.views import router as flows
    from wasteflow.forensics.views import router as forensics
    from wasteflow.ledger.history_views import router as ledger_history
    from wasteflow.ledger.views import router as ledger
    from wasteflow.manifests.views import router as manifests
    from wasteflow.quarantine.views import router as quarantine
    from wasteflow.registry.views import router as registry
    from wasteflow.revisions.views import router as revisions
    from wasteflow.tracks.views import router as tracks
    from wasteflow.webhooks.views import router as webhooks

    # finding_stats before findings, so /v1/findings/{id} does not swallow /v1/findings/stats
    for router in (regulators, keys, registry, manifests, ledger_history, tracks, finding_stats, findings, quarantine,
                   ledger, flows, exports, revisions, webhooks, forensics, console):
        app.include_router(router)


def _limit_request_size(app: FastAPI, max_bytes: int) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)


class BodySizeLimit:
    """Refuse bodies over the limit with 413 — by Content-Length up front, and by counting
    the bytes as they stream in, so a chunked upload cannot slip past the header check.
    (A request's body is buffered before the route runs; routes read it whole anyway.)"""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(scope, receive, send)
        body, too_large = await self._read_body(receive)
        if too_large:
            return await self._refuse(scope, receive, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _read_body(self, receive) -> tuple[bytes, bool]:
        """The whole body, held to the limit (at most ``max_bytes`` are ever buffered)."""
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"", False
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return b"", True
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts), False

    async def _refuse(self, scope, receive, send):
        response = problems.problem_response({"type": PROBLEM_BASE + "too-large", "title": "Request too large",
                                              "status": 413, "detail": f"the body is over {self.max_bytes} bytes"})
        await response(scope, receive, send)
