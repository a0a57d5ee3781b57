"""``notrain serve``: the portal (objection site, console, JSON API) under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notrain.cli.common import err
from notrain.cli.registry import DbOption, OutboxOption
from notrain.settings import get_settings


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
) -> None:
    """Serve the portal: the public pages, the officers' console and /api/v1."""
    import uvicorn

    from notrain.mail.transport import transport_from_settings
    from notrain.portal import create_app

    settings = get_settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    transport = transport_from_settings(settings, Path(outbox) if outbox else None)
    app = create_app(settings, transport=transport)
    err.print(
        f"notrain portal on http://{host}:{port}/ (console /console, API /api/v1, "
        f"mail: {transport.describe()})",
        highlight=False,
    )
    uvicorn.run(
        app, host=host, port=port, log_level=log_level, proxy_headers=True, server_header=False
    )
