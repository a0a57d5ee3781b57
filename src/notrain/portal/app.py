"""The application factory: ``create_app(settings)`` wires the portal together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from notrain import __version__
from notrain.errors import DatabaseError, NotrainError
from notrain.mail.transport import Transport
from notrain.portal import api, console, member_api, members, pages, transparency
from notrain.portal.context import Portal, portal_of
from notrain.portal.metrics import CONTENT_TYPE_LATEST, MetricsMiddleware
from notrain.portal.metrics import check_access as check_metrics_access
from notrain.portal.models import ErrorResponse, Health
from notrain.portal.responses import CatchAll, Templates, error_dict, error_response, handle
from notrain.portal.security import BodyLimit, SecurityHeaders
from notrain.registry.service import Clock, utc_now
from notrain.settings import Settings, get_settings

STATIC = Path(__file__).with_name("static")
DESCRIPTION = """\
Objections to AI training, consent and its withdrawal, access and erasure requests.
A request is submitted, confirmed with the six-digit code mailed to its address, and
followed by its id. The platform's pipelines check accounts with an API key. Every error
is `{"error": {"type", "status", "message", "field", "retry_after"}}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    transport: Transport | None = None,
    deliver_mail: bool = True,
) -> FastAPI:
    """The portal on ``settings`` (default: the environment). The database is migrated now.

    ``deliver_mail=False`` leaves queued mail for another process (``notrain mail
    deliver``) instead of the portal's own delivery thread, and the transparency log's
    sealing to ``notrain proof seal`` or to a receipt's request (which seals on demand).
    """
    settings = settings or get_settings()
    portal = Portal.from_settings(settings, clock=clock, transport=transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        del app
        if deliver_mail:
            portal.mail.start()
            portal.mail.wake()
            proofs.start()
        try:
            yield
        finally:
            proofs.stop()
            portal.close()

    app = FastAPI(
        title="notrain portal",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI needs scripts from a CDN; the CSP allows none
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.portal = portal
    app.state.templates = Templates()

    for exc_class in (NotrainError, RequestValidationError, HTTPException):
        app.add_exception_handler(exc_class, handle)

    async def database_down(request: Request, exc: Exception) -> Response:
        del exc
        return await handle(request, DatabaseError("the registry database is unavailable"))

    app.add_exception_handler(SQLAlchemyError, database_down)

    app.include_router(pages.router)
    app.include_router(console.login_router)
    app.include_router(console.router)
    app.include_router(api.router)
    app.include_router(member_api.router)
    members.install(app, settings)  # only with the platform's OpenID provider set
    proofs = transparency.install(app, portal)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", response_model=Health, tags=["operations"],
             responses={503: {"model": ErrorResponse}})  # fmt: skip
    def healthz(request: Request) -> Health:
        """Alive, and the registry database answers."""
        try:
            portal_of(request).ping()
        except SQLAlchemyError:
            raise DatabaseError("the registry database is unavailable") from None
        return Health(status="ok", database="ok")

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        portal = portal_of(request)
        secret = portal.settings.metrics_token
        check_metrics_access(request, secret.get_secret_value() if secret else None)
        portal.read_gauges()
        return Response(portal.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    # Outermost last: metrics see every answer, headers go on every answer (413 and 500
    # included), the body limit acts before anything reads the body.
    app.add_middleware(CatchAll)
    app.add_middleware(BodyLimit, max_bytes=settings.portal_max_body_bytes,
                       error_body=error_dict, error_page=error_response)  # fmt: skip
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=portal.metrics)
    return app


__all__ = ["create_app"]
