"""``predscope serve``: the HTTP API (and later the web UI) over a store.

Loopback by default. Bound to any other address it starts only if the store holds a token
(``predscope token create``) and then requires one on every request.
"""

from __future__ import annotations

from typing import Annotated

import typer

from predscope.cli.common import StoreOption, cli_store


def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to bind. Default 127.0.0.1 ($PREDSCOPE_HOST)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="TCP port. Default 8000 ($PREDSCOPE_PORT).")
    ] = None,
    max_body_mb: Annotated[
        int | None,
        typer.Option("--max-body-mb", help="Largest request body. Default 512 MB."),
    ] = None,
    require_token: Annotated[
        bool,
        typer.Option("--require-token", help="Require a token on loopback too (always off it)."),
    ] = False,
    store: StoreOption = None,
) -> None:
    """Serve the JSON API (docs at /docs) until interrupted."""
    import uvicorn

    from predscope.exceptions import ServerConfigError
    from predscope.server.app import create_app
    from predscope.server.settings import resolve_settings
    from predscope.services.tokens import has_tokens

    settings = resolve_settings(
        host=host, port=port, max_body_mb=max_body_mb, require_token=require_token
    )
    with cli_store(store) as opened:
        if settings.require_token and not has_tokens(opened):
            where = "off loopback" if not settings.loopback else "with --require-token"
            raise ServerConfigError(
                f"serve --host {settings.host}: {where} every request needs a token, and the "
                f"store {opened.location} has none - run `predscope token create` first "
                "(or serve on 127.0.0.1)"
            )
        app = create_app(settings, opened)
        auth = "token required" if settings.require_token else "no token (loopback only)"
        typer.echo(
            f"predscope serving {opened.location} at http://{settings.host}:{settings.port}/ "
            f"({auth}; API docs at /docs)",
            err=True,
        )
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
