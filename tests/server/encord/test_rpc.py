"""The legacy RPC's rules, driven by requests the real SDK signs (newest pinned SDK): refused
argument combinations and unknown calls, saves checked against the ontology and frame sizes
(one bad row: nothing of the bundle written), idempotent create, the body-size limit."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from predscope.sdk.client import Client
from predscope.services.encord_keys import add_key
from predscope.store.engine import Store, open_store
from tests.examples.test_guide_scripts import IMAGES, _make_project
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.encord.live import serve_encord
from tests.server.encord.sdk_envs import SDK_VERSIONS, SdkEnv, ensure_sdk_env

pytestmark = pytest.mark.slow

SEND = Path(__file__).parent / "sdk_scripts" / "send_rpc.py"
BRANCH = "rpc-checks"


@pytest.fixture(scope="module")
def newest_sdk(sdk_cache_root: Path) -> SdkEnv:
    return ensure_sdk_env(SDK_VERSIONS[-1], sdk_cache_root)


@dataclass(frozen=True)
class Rpc:
    sdk: SdkEnv
    store: Store
    url: str
    project_hash: str
    key: KeyPair
    folder: Path

    def send(self, *envelopes: dict[str, Any]) -> list[dict[str, Any]]:
        path = self.folder / "envelopes.json"
        path.write_text(json.dumps(list(envelopes)))
        done = self.sdk.run(SEND, self.url, str(self.key.private_path), self.project_hash,
                            str(path), timeout=240)  # fmt: skip
        assert done.returncode == 0, done.stderr
        answers: list[dict[str, Any]] = json.loads(done.stdout)
        return answers


def _envelope(query_type: str, method: str, uid: Any, payload: Any) -> dict[str, Any]:
    return {"query_type": query_type, "query_method": method,
            "values": {"uid": uid, "payload": payload}}  # fmt: skip


def _listing(**payload: Any) -> dict[str, Any]:
    return _envelope("labelrowmetadata", "GET", None,
                     {"include_uninitialised_labels": True, **payload})  # fmt: skip


def _serve(newest_sdk: SdkEnv, tmp_path: Path, max_body: int | None = None) -> Iterator[Rpc]:
    folder = tmp_path / "store"
    with Client(folder) as client:
        project_hash = _make_project(client, "rpc").project_hash
    key = make_key_pair(tmp_path / "keys")
    with open_store(folder) as store:
        add_key(store, key.public_path.read_text(), user_email="ann@example.org",
                projects=[project_hash])  # fmt: skip
        with serve_encord(store, max_body=max_body) as url:
            yield Rpc(newest_sdk, store, url, project_hash, key, tmp_path)


@pytest.fixture
def rpc(newest_sdk: SdkEnv, tmp_path: Path) -> Iterator[Rpc]:
    yield from _serve(newest_sdk, tmp_path)


def _stored(rpc: Rpc) -> list[tuple[str, str, int]]:
    with Client(rpc.store.url) as client:
        rows = client.get_project(rpc.project_hash).list_label_rows_v2(
            include_all_label_branches=True
        )
        out = []
        for row in rows:
            if row.label_hash:
                row.initialise_labels()
                out.append((row.data_title, row.branch_name, len(row.get_object_instances())))
        return sorted(out)


def _data_hashes(rpc: Rpc) -> list[str]:
    [listing] = rpc.send(_listing(branch_name=BRANCH))
    return [r["data_hash"] for r in listing["response"]]


def test_refused_combinations_and_unknown_calls(rpc: Rpc) -> None:
    both, unknown, bad_branch = rpc.send(
        _listing(branch_name=BRANCH, include_all_label_branches=True),
        _envelope("dataset", "GET", None, None),
        _listing(branch_name="no spaces allowed"),
    )
    assert (both["http"], both["status"], both["response"]) == (
        200,
        400,
        ["INVALID_ARGUMENTS_ERROR"],
    )
    assert "cannot be combined" in both["payload"]
    assert unknown["response"] == ["METHOD_NOT_ALLOWED_ERROR"]
    assert bad_branch["response"] == ["INVALID_ARGUMENTS_ERROR"]


def test_a_new_branch_lists_every_unit_and_create_is_idempotent(rpc: Rpc) -> None:
    [listing] = rpc.send(_listing(branch_name=BRANCH))
    rows = listing["response"]
    assert sorted(r["data_title"] for r in rows) == sorted(p.name for p in IMAGES)
    assert {(r["label_hash"], r["branch_name"], r["data_type"]) for r in rows} == {
        (None, BRANCH, "IMAGE")
    }
    hashes = [r["data_hash"] for r in rows]
    payload = {"multi_request": True, "get_signed_url": False, "branch_name": BRANCH}
    create = _envelope("labelrow", "PUT", hashes, payload)
    first, again = rpc.send(create, create)
    made = {r["data_hash"]: r["label_hash"] for r in first["response"]}
    assert len(set(made.values())) == len(hashes) and None not in made.values()
    assert {r["data_hash"]: r["label_hash"] for r in again["response"]} == made
    assert {r["branch_name"] for r in first["response"]} == {BRANCH}
    # project.get_label_row: a single row, not a list, for multi_request false
    label_hash = next(iter(made.values()))
    single, unknown = rpc.send(
        _envelope("labelrow", "GET", label_hash, {"multi_request": False}),
        _envelope("labelrow", "GET", "00000000-0000-4000-8000-000000000000", {}),
    )
    assert single["response"]["label_hash"] == label_hash
    assert single["response"]["branch_name"] == BRANCH
    assert unknown["response"] == ["RESOURCE_NOT_FOUND_ERROR"]


def _created(rpc: Rpc) -> list[dict[str, Any]]:
    hashes = _data_hashes(rpc)
    [answer] = rpc.send(_envelope("labelrow", "PUT", hashes,
                                  {"multi_request": True, "branch_name": BRANCH}))  # fmt: skip
    rows: list[dict[str, Any]] = answer["response"]
    return rows


def _with_box(row: dict[str, Any], feature_hash: str = "ZmFjZTAx") -> dict[str, Any]:
    row = copy.deepcopy(row)
    [unit] = row["data_units"].values()
    unit["labels"]["objects"] = [{
        "objectHash": "Ab/+1234", "featureHash": feature_hash, "name": "face", "value": "face",
        "color": "#D33115", "shape": "bounding_box", "confidence": 0.5, "manualAnnotation": False,
        "createdBy": None, "createdAt": "Tue, 01 Dec 2026 10:00:00 UTC",
        "boundingBox": {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2},
    }]  # fmt: skip
    row["object_answers"] = {"Ab/+1234": {"objectHash": "Ab/+1234", "classifications": []}}
    return row


def _save(rows: list[dict[str, Any]]) -> dict[str, Any]:
    payload = {"multi_request": True, "labels": rows, "validate_before_saving": True}
    return _envelope("labelrow", "POST", [r["label_hash"] for r in rows], payload)


def test_a_bundle_with_one_unknown_feature_writes_nothing(rpc: Rpc) -> None:
    rows = _created(rpc)
    before = _stored(rpc)
    good = [_with_box(r) for r in rows]
    bad = good[:-1] + [_with_box(rows[-1], feature_hash="bm9wZTAx")]
    [answer] = rpc.send(_save(bad))
    assert answer["response"] == ["FEATURE_DOES_NOT_EXIST_ERROR"]
    assert "bm9wZTAx" in answer["payload"]
    assert _stored(rpc) == before  # the good rows of the bundle were not written either
    [answer] = rpc.send(_save(good))
    assert answer["status"] == 200
    saved = [s for s in _stored(rpc) if s[1] == BRANCH]
    assert saved == sorted((p.name, BRANCH, 1) for p in IMAGES)


def test_saving_a_row_of_another_project_is_refused(rpc: Rpc) -> None:
    rows = _created(rpc)
    stray = dict(_with_box(rows[0]), label_hash="00000000-0000-4000-8000-000000000000")
    [answer] = rpc.send(_save([stray]))
    assert answer["response"] == ["RESOURCE_NOT_FOUND_ERROR"]


def test_an_oversized_body_gets_413(newest_sdk: SdkEnv, tmp_path: Path) -> None:
    served = _serve(newest_sdk, tmp_path, max_body=20_000)
    rpc = next(served)
    try:
        rows = _created(rpc)
        padded = [dict(_with_box(r), padding="x" * 5000) for r in rows]
        [answer] = rpc.send(_save(padded))
        assert answer["http"] == 413 and "limit of 20000 bytes" in answer["message"]
        assert all(s[2] == 0 for s in _stored(rpc) if s[1] == BRANCH)
    finally:
        served.close()
