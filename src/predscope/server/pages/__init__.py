"""The web pages of ``predscope serve``: server-rendered HTML over the same services as the API.

Each module is one page (or a family of them) and only turns service documents into
``ui.views`` data; ``ui.render`` makes the HTML. Static files (our own CSS and ES modules) are
mounted at ``/static``. Every page is sent with ``ui.render.CONTENT_SECURITY_POLICY``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from predscope.server.pages import compare, explore, home, login, properties, runs, summary
from predscope.server.pages.common import STATIC_URL
from predscope.ui.render import STATIC_DIR


def install_pages(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)
    for module in (home, summary, explore, properties, compare, runs, login):
        router.include_router(module.router)
    app.include_router(router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
