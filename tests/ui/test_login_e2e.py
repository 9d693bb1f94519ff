"""A server that asks for a token lets a person sign in once in the browser (an HttpOnly cookie)
and keeps refusing everyone else; scripts keep using the bearer header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from predscope.services.tokens import create_token
from predscope.store.engine import open_store
from tests.server.live import Server, build_project, live_server
from tests.ui.conftest import PageProblems

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    root: Path = tmp_path_factory.mktemp("guarded")
    store = str(root / "store")
    build_project(store)
    with open_store(store) as opened:
        token, _ = create_token(opened, "browser")
    with live_server(store, root / "tmp", ["--require-token"], token=token) as server:
        yield server, token


def test_a_page_sends_a_person_to_sign_in_and_back(
    page: Any, guarded: tuple[Server, str], problems: PageProblems
) -> None:
    server, token = guarded
    problems.allow("401")
    page.goto(f"{server.url}/p/skimage?x=1")
    assert urlsplit(page.url).path == "/login"
    page.fill("#token", "not-the-token")
    page.click("button[type='submit']")
    assert "not valid" in page.locator("[data-testid='login-error']").inner_text()
    page.fill("#token", token)
    page.click("button[type='submit']")
    page.wait_for_selector("[data-testid='branches']")
    assert page.url == f"{server.url}/p/skimage?x=1"
    cookie = next(c for c in page.context.cookies() if c["name"] == "predscope_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.request.get(f"{server.url}/api/projects").status == 200  # the cookie counts


def test_without_the_token_everything_but_the_sign_in_page_is_refused(
    guarded: tuple[Server, str],
) -> None:
    server, token = guarded
    assert httpx.get(f"{server.url}/api/projects").status_code == 401
    page = httpx.get(f"{server.url}/p/skimage")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert httpx.get(f"{server.url}/login").status_code == 200
    assert httpx.get(f"{server.url}/static/app.css").status_code == 200
    wrong = httpx.get(f"{server.url}/api/projects", cookies={"predscope_token": "nope"})
    assert wrong.status_code == 401
    bearer = httpx.get(f"{server.url}/api/projects", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200


def test_signing_in_never_redirects_to_another_host(guarded: tuple[Server, str]) -> None:
    server, token = guarded
    for target in ("//evil.example/x", "https://evil.example/", "\\\\evil"):
        response = httpx.post(f"{server.url}/login", data={"token": token, "next": target})
        assert response.status_code == 303 and response.headers["location"] == "/", target
