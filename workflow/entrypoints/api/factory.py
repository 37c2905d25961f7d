"""The FastAPI application: routes under ``/api/v1``, problem details, bearer tokens,
idempotent POSTs and one access-log line per request.

``create_app`` does no I/O: the bus (and with it the engine, and a migration when the
settings ask for one) is built on the first request that needs it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse

from config.settings import Settings
from workflow.adapters.health import broker_reachable, database_reachable
from workflow.entrypoints import web
from workflow.entrypoints.api import access_log, answers, idempotency, problems
from workflow.entrypoints.api.idempotency import IdempotencyMiddleware
from workflow.entrypoints.api.routes_files import router as files_router
from workflow.entrypoints.api.routes_misc import router as misc_router
from workflow.entrypoints.api.routes_money import router as money_router
from workflow.entrypoints.api.routes_people import router as people_router
from workflow.entrypoints.api.routes_programs import router as programs_router
from workflow.entrypoints.api.routes_tasks import router as tasks_router
from workflow.entrypoints.api.services import Services, services
from workflow.service_layer.messagebus import MessageBus

PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, bus: MessageBus | None = None) -> FastAPI:
    app = FastAPI(
        title="jointflow",
        version="1",
        summary="Joint review, budget holds and audit for jointly funded programs.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.services = Services(settings, bus)
    problems.install(app)
    api = APIRouter(prefix=PREFIX, responses=problems.RESPONSES)
    for router in (
        programs_router,
        files_router,
        money_router,
        tasks_router,
        misc_router,
        people_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health)
    web.install(app)
    _document_layers(app)
    # Outermost last: the access log sees the idempotency layer's replays too.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(access_log.AccessLogMiddleware)
    access_log.configure()
    return app


def _document_layers(app: FastAPI) -> None:
    """FastAPI documents what the routes declare; the layers around them (the problem
    handlers, the idempotency middleware) add theirs to the document it generates, once."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            contract = generate()  # which caches what it builds
            problems.document(contract)
            idempotency.document(contract)
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]


health = APIRouter(tags=["health"])


@health.get("/healthz", response_model=answers.Health)
def healthz() -> dict[str, str]:
    """The process is up (no dependency checked)."""
    return {"status": "ok"}


@health.get(
    "/readyz",
    responses={
        200: {"model": answers.Readiness, "description": "Ready"},
        503: {"model": answers.Readiness, "description": "Not ready: `down` names what"},
    },
)
def readyz(found: Annotated[Services, Depends(services)]) -> JSONResponse:
    """The database, and the broker when one is configured, answer: 200; else 503
    naming what is down."""
    checks: dict[str, Any] = {"database": database_reachable(found.engine)}
    if found.settings.broker_url:
        checks["broker"] = broker_reachable(found.settings.broker_url)
    down = [name for name, ok in checks.items() if not ok]
    body = {"status": "down" if down else "ready", "checks": checks, "down": down}
    return JSONResponse(body, status_code=503 if down else 200)
