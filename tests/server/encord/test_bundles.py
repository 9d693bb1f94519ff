"""Large bundles and paging through the real SDK (newest pinned): the guide's store script
over a project of 1,000 images creates and saves 1,000 rows per request, and
``list_branches`` pages through more branches than one page holds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from predscope.sdk.client import Client
from predscope.server.encord.router import DEFAULT_PAGE_SIZE as PAGE_SIZE
from predscope.services.encord_keys import add_key
from predscope.store import label_rows as row_repo
from predscope.store.engine import Store, open_store
from predscope.store.projects import get_project
from tests.examples.test_guide_scripts import GUIDE, _ground_truth, _make_project
from tests.server.encord.guide import port_script
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.encord.live import serve_encord
from tests.server.encord.sdk_envs import SDK_VERSIONS, SdkEnv, ensure_sdk_env

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).parent / "sdk_scripts"
UNITS = 1000
BRANCH = "bulk-predictions"


@pytest.fixture(scope="module")
def newest_sdk(sdk_cache_root: Path) -> SdkEnv:
    return ensure_sdk_env(SDK_VERSIONS[-1], sdk_cache_root)


def _store(folder: Path, units: int) -> str:
    with Client(folder) as client:
        project = client.create_project("bulk", ontology=GUIDE / "ontology.json")
        project.add_data([
            {"title": f"img_{i:04d}.jpg", "data_type": "image", "width": 640, "height": 480}
            for i in range(units)
        ])  # fmt: skip
        return str(project.project_hash)


def _grant(store: Store, key: KeyPair, project_hash: str) -> None:
    add_key(store, key.public_path.read_text(), user_email="ann@example.org",
            projects=[project_hash])  # fmt: skip


def test_store_predictions_on_a_thousand_images(newest_sdk: SdkEnv, tmp_path: Path) -> None:
    project_hash = _store(tmp_path / "store", UNITS)
    key = make_key_pair(tmp_path / "keys")
    with open_store(tmp_path / "store") as store:
        _grant(store, key, project_hash)
        with serve_encord(store) as url:
            script = port_script("store_predictions.py", tmp_path, domain=url,
                                 SSH_PATH=str(key.private_path), PROJECT_HASH=project_hash,
                                 PREDICTION_BRANCH_NAME=BRANCH)  # fmt: skip
            started = time.perf_counter()
            done = newest_sdk.run(script, cwd=tmp_path, timeout=600)
            elapsed = time.perf_counter() - started
        assert done.returncode == 0, done.stderr
        assert f"Stored {UNITS} predictions on branch {BRANCH!r}" in done.stdout
        print(f"\nguide store script, {UNITS} rows, encord {newest_sdk.version}: {elapsed:.1f} s")
        with store.read() as conn:
            project_id = get_project(conn, project_hash).id
            records = row_repo.list_row_metadata(conn, project_id, branch_name=BRANCH)
        assert len(records) == UNITS
        assert {(r.label_hash is not None, r.object_count) for r in records} == {(True, 1)}


def test_list_branches_pages_through_every_branch(newest_sdk: SdkEnv, tmp_path: Path) -> None:
    project_hash = _store(tmp_path / "store", 1)
    names = sorted(["main"] + [f"model-{i:03d}" for i in range(PAGE_SIZE + 50)])
    key = make_key_pair(tmp_path / "keys")
    with open_store(tmp_path / "store") as store:
        _grant(store, key, project_hash)
        with store.begin() as conn:
            project = get_project(conn, project_hash)
            [unit] = row_repo.list_row_metadata(conn, project.id, branch_name="main")
            row_repo.create_rows(conn, project.id, [(unit.data_hash, n) for n in names])
        with serve_encord(store) as url:
            done = newest_sdk.run(SCRIPTS / "list_branches.py", url, str(key.private_path),
                                  project_hash)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == names


def test_copy_labels_to_branch(newest_sdk: SdkEnv, tmp_path: Path) -> None:
    folder = tmp_path / "store"
    with Client(folder) as client:
        project = _make_project(client, "copy")
        _ground_truth(project)  # one row on main, with an object and a classification
        project_hash = project.project_hash
    key = make_key_pair(tmp_path / "keys")
    with open_store(folder) as store:
        _grant(store, key, project_hash)
        with serve_encord(store) as url:
            done = newest_sdk.run(SCRIPTS / "copy_branch.py", url, str(key.private_path),
                                  project_hash, "reviewed")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]
    with Client(folder) as client:
        project = client.get_project(project_hash)
        assert project.list_branches() == ["main", "reviewed"]
        [row] = [r for r in project.list_label_rows_v2(branch_name="reviewed") if r.label_hash]
        row.initialise_labels()
        assert len(row.get_object_instances()) == 1
        assert len(row.get_classification_instances()) == 1
