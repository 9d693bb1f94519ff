"""predscope's JSON API under ``/api/``: the Python API's nouns, as JSON documents."""

from __future__ import annotations

from fastapi import APIRouter

from predscope.server.api import imports, jobs, media, projects


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api")
    for module in (projects, imports, jobs, media):
        router.include_router(module.router)
    return router
