"""predscope's JSON API under ``/api/``: the Python API's nouns, as JSON documents."""

from __future__ import annotations

from fastapi import APIRouter

from predscope.server.api import analysis, imports, jobs, media, projects


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api")
    for module in (projects, imports, jobs, media, analysis):
        router.include_router(module.router)
    return router
