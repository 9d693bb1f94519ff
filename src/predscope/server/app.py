"""``create_app(settings, store)``: the ASGI app of ``predscope serve``. Nothing runs at import.

The app owns a job runner (background imports) and a thumbnail cache, both made here and stopped
with the app. The Encord-compatible API (``server/encord/``) is mounted at the root, where the SDK
looks for it; the web pages (``server/pages/``) mount beside the JSON API. Every request passes
``SafetyMiddleware`` first.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI

from predscope.server.api import api_router
from predscope.server.docs import install_docs
from predscope.server.encord.handlers import EncordApi
from predscope.server.encord.router import encord_router
from predscope.server.errors import install_error_handlers
from predscope.server.jobs import JobRunner
from predscope.server.media import ThumbnailCache
from predscope.server.pages import install_pages
from predscope.server.security import SafetyMiddleware
from predscope.server.settings import Settings
from predscope.services.encord_keys import token_access
from predscope.services.jobs import fail_abandoned
from predscope.store.engine import Store

DESCRIPTION = (
    "predscope's JSON API: projects, data units, ontology, branches, label rows, imports "
    "(background jobs) and media by data-unit id. Errors are "
    '`{"error": {"code", "message"}}` with a stable code.'
)


def _warm(store: Store) -> None:
    """Fill the freshness cache before the first page asks. Best effort: if it fails (the store
    closed under it at shutdown, say), the first page computes what it needs itself."""
    from predscope.services.analysis.metrics import warm_fingerprints

    with suppress(Exception):
        warm_fingerprints(store)


def create_app(settings: Settings, store: Store) -> FastAPI:
    """The app over an opened store. The caller keeps ownership of ``store`` (and closes it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        fail_abandoned(store)
        threading.Thread(target=_warm, args=(store,), name="warm-caches", daemon=True).start()
        try:
            yield
        finally:
            app.state.jobs.shutdown()

    app = FastAPI(
        title="predscope",
        version=version("predscope"),
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.jobs = JobRunner(store, settings.job_workers)
    app.state.thumbnails = ThumbnailCache(settings.thumbnail_cache_bytes)
    install_error_handlers(app)
    install_docs(app)
    app.include_router(api_router())
    encord_api = EncordApi(store, bearer_lookup=lambda token: token_access(store, token))
    app.include_router(encord_router(encord_api, max_body=settings.max_body_bytes))
    install_pages(app)

    @app.get("/api/health", tags=["server"], summary="Liveness, version and schema version")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": app.version,
            "schema_version": store.schema_version(),
            "token_required": settings.require_token,
        }

    app.add_middleware(SafetyMiddleware, settings=settings, store=store)
    return app
