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
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import get_project
from predscope.store.engine import open_store
from tests.server.live import DATA, PROJECT, build_project, live_server

SETS = {
    "opencv": "pred_opencv_haar_hog.json",
    "mediapipe": "pred_mediapipe_0.10.21.json",
    "rapidocr": "pred_rapidocr_1.4.4.json",
}


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
    project_hash = build_project(store)
    with open_store(store) as opened:
        project = get_project(opened, project_hash)
        for branch, name in SETS.items():
            gt = DATA / "demo_ground_truth.json"
            import_coco(opened, project, DATA / name, ImportOptions(branch=branch), gt_path=gt)
            analyse(opened, project, branch)
    return project_hash


@contextmanager
def served_site(root: Path) -> Iterator[Site]:
    store = str(root / "store")
    project_hash = build_store(store)
    with live_server(store, root / "server-tmp") as server, server.client() as http:
        yield Site(server.url, project_hash, http, store)


__all__ = ["PROJECT", "SETS", "Site", "served_site"]
