"""The FastAPI application: routers, problem details, request limits."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from wasteflow import __version__
from wasteflow.api import problems
from wasteflow.api.deps import Db
from wasteflow.config import Settings, get_settings
from wasteflow.database import get_engine
from wasteflow.errors import PROBLEM_BASE
from wasteflow.live import install_receipt_reconciliation

DESCRIPTION = """Industrial solid waste from the firm that makes it, on the truck that carries it,
to the plant or landfill that takes it. Every request carries `Authorization: Bearer <api key>`;
errors are RFC 9457 problem details naming the rule and the field."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="wasteflow", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.db = Db(get_engine(settings.database_url))
    problems.install(app)
    install_receipt_reconciliation(settings)
    _limit_request_size(app, settings.max_request_bytes)
    _include_routers(app)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics() -> str:
        from wasteflow.metrics import render
        return render(app.state.db.engine)

    return app


def _include_routers(app: FastAPI) -> None:
    from wasteflow.auth.views import router as regulators
    from wasteflow.findings.views import router as findings
    from wasteflow.ledger.views import router as ledger
    from wasteflow.manifests.views import router as manifests
    from wasteflow.quarantine.views import router as quarantine
    from wasteflow.registry.views import router as registry
    from wasteflow.tracks.views import router as tracks

    for router in (regulators, registry, manifests, tracks, findings, quarantine, ledger):
        app.include_router(router)


def _limit_request_size(app: FastAPI, max_bytes: int) -> None:
    @app.middleware("http")
    async def reject_large_bodies(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_bytes:
            return problems.problem_response({"type": PROBLEM_BASE + "too-large", "title": "Request too large",
                                              "status": 413, "detail": f"the body is over {max_bytes} bytes"})
        return await call_next(request)
