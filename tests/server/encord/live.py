"""A real uvicorn server on a free loopback port, serving the Encord-compatible router over a
store, for tests that drive it with the real SDK."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from predscope.server.encord.handlers import EncordApi
from predscope.server.encord.router import encord_router
from predscope.services.encord_keys import token_access
from predscope.store.engine import Store


@contextmanager
def serve_encord(
    store: Store, *, max_body: int | None = None, clock: Callable[[], float] = time.time
) -> Iterator[str]:
    """Base URL of a running server (``http://127.0.0.1:PORT``) until the block ends."""
    app = FastAPI()
    kwargs = {} if max_body is None else {"max_body": max_body}
    api = EncordApi(store, clock=clock, bearer_lookup=lambda token: token_access(store, token))
    app.include_router(encord_router(api, **kwargs))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
