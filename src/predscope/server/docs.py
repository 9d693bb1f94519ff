"""``/docs``: Swagger UI for the OpenAPI schema, entirely offline.

FastAPI's default page loads Swagger UI from a CDN. The assets come instead from the installed
``fastapi-offline`` wheel (Swagger UI 5, which reads OpenAPI 3.1 as FastAPI writes it), served by
this app; the page itself is ours, with its start-up code in a file so that it runs under a
``default-src 'self'`` Content-Security-Policy.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
# Swagger UI styles some elements inline and draws icons from data: URIs.
DOCS_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>predscope API</title>
<link rel="icon" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""


def swagger_assets() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_assets()), name="docs-assets")
    init_js = Path(__file__).with_name("static") / "docs-init.js"
    page = _PAGE.format(assets=ASSETS_URL)

    @app.get("/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> FileResponse:
        return FileResponse(init_js, media_type="text/javascript")
