"""A real ``predscope serve`` over a store holding the scikit-image project with three real
detectors' branches, each analysed: what the browser tests open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from predscope.services.analysis.runs import analyse
from predscope.services.demo import run_demo
from predscope.services.projects import add_data, add_image_group
from predscope.store.engine import open_store
from tests.server.live import DATA, PAIR, _frame, live_server

SETS = ("opencv-haar-hog", "mediapipe-0.10.21", "rapidocr-1.4.4")  # the demo's branches


@dataclass
class Site:
    url: str
    project: str  # the project's hash: pages live under /p/<hash>
    http: httpx.Client
    store: str  # the served store's location (tests may write to it beside the server)

    def page(self, rest: str = "") -> str:
        return f"{self.url}/p/{self.project}{rest}"

    def api(self, rest: str, **params: Any) -> Any:
        response = self.http.get(f"/api/projects/{self.project}{rest}", params=params)
        response.raise_for_status()
        return response.json()


def build_store(store: str) -> str:
    """The demo project (``services.demo``: the photos, their 48 measured objects, three real
    detectors, every branch analysed) plus an image group and a unit without pixels."""
    with open_store(store) as opened:
        project = run_demo(opened, DATA).project
        add_image_group(opened, project, "pair", [_frame(i, n) for i, n in enumerate(PAIR)])
        add_data(opened, project, [{"title": "size-only.png", "width": 10, "height": 10}])
        for branch in SETS:  # the new units' rows: the sets stay fresh
            analyse(opened, project, branch)
        return project.project_hash


@contextmanager
def served_site(root: Path) -> Iterator[Site]:
    store = str(root / "store")
    project_hash = build_store(store)
    with live_server(store, root / "server-tmp") as server, server.client() as http:
        yield Site(server.url, project_hash, http, store)


__all__ = ["SETS", "Site", "served_site"]
