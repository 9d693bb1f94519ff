"""Authentication and authorisation through the real SDK against a real server: unknown key,
removed key, tampered body, stale signature, ungranted project; each refused with the SDK's
error, and nothing written."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from predscope.sdk.client import Client
from predscope.services.encord_keys import add_key, remove_key
from predscope.services.tokens import create_token
from predscope.store.engine import Store, open_store
from tests.examples.test_guide_scripts import IMAGES, _make_project
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.encord.live import serve_encord
from tests.server.encord.sdk_envs import SdkEnv

pytestmark = pytest.mark.slow

PROBE = Path(__file__).parent / "sdk_scripts" / "auth_probe.py"


@dataclass(frozen=True)
class World:
    store: Store
    granted: str  # project hash Ann was granted
    other: str  # project hash nobody was granted
    ann: KeyPair
    stranger: KeyPair  # never registered


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    folder = tmp_path / "store"
    with Client(folder) as client:
        granted = _make_project(client, "granted").project_hash
        other = _make_project(client, "other").project_hash
    ann, stranger = make_key_pair(tmp_path / "ann"), make_key_pair(tmp_path / "x")
    with open_store(folder) as store:
        add_key(store, ann.public_path.read_text(), user_email="ann@example.org",
                projects=[granted])  # fmt: skip
        yield World(store, granted, other, ann, stranger)


def _probe(sdk: SdkEnv, url: str, key: KeyPair, project: str, *calls: str) -> dict[str, Any]:
    done = sdk.run(PROBE, url, str(key.private_path), project, *calls, timeout=240)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return {line.pop("call"): line for line in lines}


def _rows(world: World) -> int:
    with Client(world.store.url) as client:
        return sum(
            1
            for p in (world.granted, world.other)
            for r in client.get_project(p).list_label_rows_v2(include_all_label_branches=True)
            if r.label_hash
        )


@contextmanager
def _served(world: World, clock: Callable[[], float] = time.time) -> Iterator[str]:
    with serve_encord(world.store, clock=clock) as url:
        yield url


def test_registered_key_is_served(encord_sdk: SdkEnv, world: World) -> None:
    with _served(world) as url:
        seen = _probe(encord_sdk, url, world.ann, world.granted, "get_project", "legacy_listing")
    assert seen["get_project"] == {"ok": "granted"}
    listing = seen["legacy_listing"]
    assert listing["http"] == 200 and listing["status"] == 200
    assert sorted(r["data_title"] for r in listing["response"]) == sorted(p.name for p in IMAGES)


def test_unknown_key_is_refused(encord_sdk: SdkEnv, world: World) -> None:
    with _served(world) as url:
        seen = _probe(encord_sdk, url, world.stranger, world.granted, "get_project",
                      "legacy_listing")  # fmt: skip
    assert seen["get_project"]["error"] == "AuthenticationError"
    assert "not registered" in seen["get_project"]["message"]
    assert seen["legacy_listing"]["http"] == 200  # legacy errors travel as HTTP 200 ...
    assert seen["legacy_listing"]["response"] == ["AUTHENTICATION_ERROR"]  # ... code in a list


def test_removed_key_is_refused(encord_sdk: SdkEnv, world: World) -> None:
    remove_key(world.store, world.ann.key_hex)
    with _served(world) as url:
        seen = _probe(encord_sdk, url, world.ann, world.granted, "get_project")
    assert seen["get_project"]["error"] == "AuthenticationError"


def test_ungranted_project_is_refused(encord_sdk: SdkEnv, world: World) -> None:
    with _served(world) as url:
        seen = _probe(encord_sdk, url, world.ann, world.other, "get_project", "legacy_listing")
        missing = _probe(encord_sdk, url, world.ann, "00000000-0000-4000-8000-000000000000",
                         "get_project")  # fmt: skip
    assert seen["get_project"]["error"] == "AuthorisationError"
    assert seen["legacy_listing"]["response"] == ["AUTHORISATION_ERROR"]
    # A project that does not exist looks the same as one not granted: nothing leaks.
    assert missing["get_project"]["error"] == "AuthorisationError"


def test_tampered_body_is_refused_and_nothing_written(encord_sdk: SdkEnv, world: World) -> None:
    before = _rows(world)
    with _served(world) as url:
        seen = _probe(encord_sdk, url, world.ann, world.granted, "legacy_tampered")
    assert seen["legacy_tampered"]["response"] == ["AUTHENTICATION_ERROR"]
    assert _rows(world) == before


def test_stale_signature_is_refused(encord_sdk: SdkEnv, world: World) -> None:
    # The server's clock runs ten minutes ahead: every fresh SDK signature looks stale.
    with _served(world, clock=lambda: time.time() + 600) as url:
        seen = _probe(encord_sdk, url, world.ann, world.granted, "get_project", "legacy_listing")
    assert seen["get_project"]["error"] == "AuthenticationError"
    assert "outside the accepted window" in seen["get_project"]["message"]
    # v1 carries no time, so the legacy call still works (Encord's protocol, not ours).
    assert seen["legacy_listing"]["status"] == 200


def test_predscope_token_works_as_a_bearer_token(encord_sdk: SdkEnv, world: World) -> None:
    """``predscope token create`` tokens open every project through predscope's own API, so
    the SDK's ``create_with_bearer_token`` gets the same; an unknown token is refused."""
    token, _ = create_token(world.store, "ci")
    script = Path(__file__).parent / "sdk_scripts" / "bearer_probe.py"
    with _served(world) as url:
        done = encord_sdk.run(script, url, token, world.other, timeout=240)
        wrong = encord_sdk.run(script, url, token + "x", world.other, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["other", str(len(IMAGES))]
    assert wrong.returncode != 0 and "AuthenticationError" in wrong.stderr
