"""``notrain serve``: the portal (objection site, console, JSON API) under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from notrain.cli.common import err
from notrain.cli.registry import DbOption, OutboxOption


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; keep loopback behind a proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    db: DbOption = None,
    outbox: OutboxOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes. Each has its own mail thread; the per-e-mail and "
            "per-code limits are in the database and hold across them, the per-IP limits "
            "are counted per process.",
        ),
    ] = 1,
) -> None:
    """Serve the portal: the public pages, the officers' console and /api/v1."""
    import uvicorn

    from notrain.mail.transport import transport_from_settings
    from notrain.settings import get_settings

    if db:
        os.environ["NOTRAIN_DATABASE_URL"] = db  # read again by every worker process
    if outbox:
        os.environ["NOTRAIN_OUTBOX_DIR"] = str(outbox)
        os.environ["NOTRAIN_SMTP_HOST"] = ""  # --outbox wins over SMTP, in every process
    settings = get_settings().model_copy(update={"database_url": db} if db else {})
    transport = transport_from_settings(settings, outbox)
    err.print(
        f"notrain portal on http://{host}:{port}/ (console /console, API /api/v1, "
        f"mail: {transport.describe()}, {workers} process{'es' if workers > 1 else ''})",
        highlight=False,
    )
    options = {"host": host, "port": port, "log_level": log_level, "proxy_headers": True,
               "server_header": False}  # fmt: skip
    if workers == 1:
        from notrain.portal import create_app

        uvicorn.run(create_app(settings, transport=transport), **options)  # type: ignore[arg-type]
    else:
        # Every process builds its app from the environment; the database is migrated by
        # this one first, so they do not race to do it.
        from notrain.registry.db import create_registry_engine, ensure_schema

        engine = create_registry_engine(settings.database_url)
        ensure_schema(engine)
        engine.dispose()
        uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=workers, **options)  # type: ignore[arg-type]


def app_from_environment() -> object:
    """The portal as configured by the environment (one per ``serve --workers`` process)."""
    from notrain.mail.transport import transport_from_settings
    from notrain.portal import create_app
    from notrain.settings import get_settings

    settings = get_settings()
    return create_app(settings, transport=transport_from_settings(settings, None))
