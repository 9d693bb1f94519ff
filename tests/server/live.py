"""A real ``predscope serve`` in a subprocess on a free loopback port, and the store it serves.

The tests talk to it with httpx over TCP, exactly as a client would; on a failed start the
server's output is part of the error.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, add_image_group, create_project
from predscope.store.engine import open_store

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"
PROJECT = "skimage"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    tmp: Path  # the server's TMPDIR: uploads are staged there

    def client(self, token: str | None = None, timeout: float = 60.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def serve_command(store: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "predscope",
        "serve",
        "--store",
        store,
        "--port",
        str(port),
        *extra,
    ]


def _environment(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp)
    env.pop("PREDSCOPE_HOST", None)
    return env


@contextmanager
def live_server(
    store: str, tmp: Path, extra: Sequence[str] = (), token: str | None = None
) -> Iterator[Server]:
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = tmp.parent / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            serve_command(store, port, *extra), stdout=out, stderr=out, env=_environment(tmp)
        )
    server = Server(f"http://127.0.0.1:{port}", process, tmp)
    try:
        _wait_ready(server, log, token)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, log: Path, token: str | None) -> None:
    deadline = time.monotonic() + 60
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if httpx.get(f"{server.url}/api/health", headers=headers, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    server.process.kill()
    raise RuntimeError(f"predscope serve did not start:\n{log.read_text(errors='replace')}")


PAIR = ("coins.png", "page.png")


def _frame(index: int, name: str) -> dict[str, Any]:
    """An image of the group, titled apart from the single images (titles match COCO files)."""
    path = DATA / "images" / name
    with Image.open(path) as image:
        width, height = image.size
    return {"title": f"pair-{index}.png", "width": width, "height": height, "data_link": str(path)}


def build_project(store: str) -> str:
    """The scikit-image photos with their ground truth on ``main`` and a two-image group."""
    with open_store(store) as opened:
        ontology = json.loads((DATA / "demo_ontology.json").read_text(encoding="utf-8"))
        project = create_project(opened, PROJECT, ontology)
        add_data(opened, project, sorted((DATA / "images").iterdir()))
        add_image_group(opened, project, "pair", [_frame(i, name) for i, name in enumerate(PAIR)])
        add_data(opened, project, [{"title": "size-only.png", "width": 10, "height": 10}])
        gt = DATA / "demo_ground_truth.json"
        import_coco(opened, project, gt, ImportOptions(ground_truth=True))
        return project.project_hash


def wait_job(client: httpx.Client, job: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current: dict[str, Any] = client.get(job["url"]).json()
        if current["status"] in ("succeeded", "failed"):
            return current
        time.sleep(0.05)
    raise AssertionError(f"job {job['job_id']} did not finish: {current}")


def upload(
    client: httpx.Client, body: bytes, *, fmt: str = "coco", name: str = "preds.json", **params: Any
) -> httpx.Response:
    query = {"format": fmt, "filename": name, **params}
    return client.post(
        f"/api/projects/{PROJECT}/imports",
        params=query,
        content=body,
        headers={"Content-Type": "application/json"},
    )
