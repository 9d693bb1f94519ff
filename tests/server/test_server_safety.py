"""The safety rules against a real server: loopback by default, a token off loopback (and with
--require-token), the body-size limit, host and origin checks, and docs that load nothing from
outside."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import (
    DATA,
    PROJECT,
    Server,
    _environment,
    build_project,
    free_port,
    live_server,
    serve_command,
    upload,
    wait_job,
)

pytestmark = pytest.mark.slow
HAAR = (DATA / "pred_opencv_haar_hog.json").read_bytes()


def _cli(*args: str, store: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "predscope", *args, "--store", store],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_refuses_to_bind_off_loopback_without_a_token(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    port = free_port()
    result = subprocess.run(
        serve_command(store, port, "--host", "0.0.0.0"),
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(tmp_path),
    )
    assert result.returncode == 1
    assert "predscope token create" in result.stderr and "0.0.0.0" in result.stderr


@pytest.fixture
def token_store(store_url: str) -> Iterator[tuple[str, str]]:
    build_project(store_url)
    created = _cli("token", "create", "--name", "ci", store=store_url)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert re.fullmatch(r"psk_[A-Za-z0-9_-]{40,}", token)
    listed = _cli("token", "list", "--json", store=store_url)
    assert token not in listed.stdout and token[:10] in listed.stdout  # shown once, kept hashed
    yield store_url, token


@pytest.mark.parametrize("where", ["--require-token", "off-loopback"])
def test_a_token_is_required_on_every_request(
    token_store: tuple[str, str], tmp_path: Path, where: str
) -> None:
    store, token = token_store
    extra = ["--require-token"] if where == "--require-token" else ["--host", "0.0.0.0"]
    with live_server(store, tmp_path / "tmp", extra, token=token) as server:
        with server.client() as anonymous:
            for path in ("/api/health", "/api/projects", "/docs", "/openapi.json"):
                refused = anonymous.get(path)
                assert refused.status_code == 401, path
                assert refused.json()["error"]["code"] == "unauthorized"
                assert refused.headers["www-authenticate"] == "Bearer"
            posted = upload(anonymous, HAAR, branch="anon")
            assert posted.status_code == 401
            # Encord's API is mounted and checks signatures itself: refused in its own protocol
            # (legacy errors travel as HTTP 200), not with the server's bearer rule.
            legacy = anonymous.post("/public", content=b"{}")
            assert legacy.status_code == 200 and "error" not in legacy.json(), legacy.text
        with server.client(token="psk_" + "x" * 43) as wrong:
            assert wrong.get("/api/projects").status_code == 401
        with server.client(token=token) as allowed:
            assert allowed.get("/api/projects").json()["items"][0]["title"] == PROJECT
            job = wait_job(allowed, upload(allowed, HAAR, branch="with-token").json())
            assert job["status"] == "succeeded"
            branches = [
                b["name"] for b in allowed.get(f"/api/projects/{PROJECT}/branches").json()["items"]
            ]
            assert "anon" not in branches and "with-token" in branches
        prefix = token[:10]
        revoked = _cli("token", "revoke", prefix, "--yes", store=store)
        assert revoked.returncode == 0, revoked.stderr
        with server.client(token=token) as stale:
            assert stale.get("/api/projects").status_code == 401


def test_body_size_limit(served_small: Server) -> None:
    big = b"[" + b" " * (2 * 1024 * 1024) + b"]"
    with served_small.client() as http:
        before = http.get(f"/api/projects/{PROJECT}/branches").json()
        declared = upload(http, big, branch="big")
        assert declared.status_code == 413
        error = declared.json()["error"]
        assert error["code"] == "request_too_large" and "1 MB" in error["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        streamed = http.post(
            f"/api/projects/{PROJECT}/imports",
            params={"format": "coco", "branch": "big"},
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "request_too_large"
        assert http.get(f"/api/projects/{PROJECT}/branches").json() == before
        assert http.get(f"/api/projects/{PROJECT}/jobs").json()["total"] == 0
        small = wait_job(http, upload(http, HAAR, branch="small").json())
        assert small["status"] == "succeeded"
    assert list(served_small.tmp.iterdir()) == []


@pytest.fixture
def served_small(tmp_path: Path) -> Iterator[Server]:
    store = str(tmp_path / "store")
    build_project(store)
    with live_server(store, tmp_path / "tmp", ["--max-body-mb", "1"]) as server:
        yield server


def test_host_and_origin_checks(served_small: Server) -> None:
    with served_small.client() as http:
        rebound = http.get("/api/projects", headers={"Host": "attacker.example"})
        assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "forbidden"
        cross = upload(http, HAAR, branch="same-origin")
        assert cross.status_code == 202  # same origin (no Origin header): accepted
        wait_job(http, cross.json())
        forged = http.post(
            f"/api/projects/{PROJECT}/imports",
            params={"format": "coco", "branch": "forged"},
            content=HAAR,
            headers={"Content-Type": "application/json", "Origin": "http://attacker.example"},
        )
        assert forged.status_code == 403
        names = [b["name"] for b in http.get(f"/api/projects/{PROJECT}/branches").json()["items"]]
        assert "forged" not in names
        page = http.get("/api/projects")
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["content-security-policy"] == "default-src 'self'"


def test_docs_work_offline(served_small: Server) -> None:
    with served_small.client() as http:
        page = http.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources)
        for source in sources:
            asset = http.get(source)
            assert asset.status_code == 200 and len(asset.content) > 100, source
        assert "SwaggerUIBundle" in http.get("/docs/init.js").text
        schema = http.get("/openapi.json").json()
        assert schema["openapi"].startswith("3.1")
        assert {"/api/projects", "/api/jobs/{job_id}", "/api/projects/{project}/imports"} <= set(
            schema["paths"]
        )
    assert not any("http" in s for s in sources)


def test_health_over_plain_loopback_needs_no_token(served_small: Server) -> None:
    assert httpx.get(f"{served_small.url}/api/health").json()["token_required"] is False
