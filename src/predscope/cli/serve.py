"""``predscope serve``: the HTTP API (and later the web UI) over a store.

Loopback by default. Bound to any other address it starts only if the store holds a token
(``predscope token create``) and then requires one on every request.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from predscope.cli.common import StoreOption, cli_store

if TYPE_CHECKING:
    from predscope.server.settings import Settings
    from predscope.store.engine import Store


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
    from predscope.server.settings import resolve_settings

    settings = resolve_settings(
        host=host, port=port, max_body_mb=max_body_mb, require_token=require_token
    )
    with cli_store(store) as opened:
        run_server(
            opened,
            settings,
            lambda url, auth: typer.echo(
                f"predscope serving {opened.location} at {url} ({auth}; API docs at /docs)",
                err=True,
            ),
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free port the system picks), so the
    caller knows the real address before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def check_token_rule(opened: Store, settings: Settings) -> None:
    """Off loopback (or with --require-token) the store must hold a token to start at all."""
    from predscope.exceptions import ServerConfigError
    from predscope.services.tokens import has_tokens

    if settings.require_token and not has_tokens(opened):
        where = "off loopback" if not settings.loopback else "with --require-token"
        raise ServerConfigError(
            f"serve --host {settings.host}: {where} every request needs a token, and the "
            f"store {opened.location} has none - run `predscope token create` first "
            "(or serve on 127.0.0.1)"
        )


def run_server(
    opened: Store,
    settings: Settings,
    announce: Callable[[str, str], None],
    sock: socket.socket | None = None,
) -> None:
    """Serve ``opened`` until interrupted; ``announce(url, auth)`` once the port is bound.

    ``predscope serve`` and ``predscope demo --serve`` both start the server here.
    """
    import uvicorn

    from predscope.exceptions import ServerConfigError
    from predscope.server.app import create_app

    check_token_rule(opened, settings)
    if sock is None:
        try:
            sock = bind_socket(settings.host, settings.port)
        except OSError as exc:
            raise ServerConfigError(
                f"serve: cannot listen on {settings.host}:{settings.port} ({exc.strerror}) - "
                "pick another --port (0 picks a free one)"
            ) from None
    app = create_app(settings, opened)
    port = sock.getsockname()[1]
    host = f"[{settings.host.strip('[]')}]" if ":" in settings.host else settings.host
    auth = "token required" if settings.require_token else "no token (loopback only)"
    announce(f"http://{host}:{port}/", auth)
    config = uvicorn.Config(app, log_level="warning")
    with sock:
        uvicorn.Server(config).run(sockets=[sock])


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
