"""The guide's three scripts, in Encord's SDK form and run by the real ``encord`` SDK at every
pinned version, against a real server over a predscope store; then predscope's own API checks
what arrived.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from predscope.services.encord_keys import add_key
from predscope.services.tokens import create_token
from predscope.store.engine import open_store
from tests.examples.test_guide_scripts import (
    IMAGES,
    SKIMAGE,
    _coco_dataset,
    _ground_truth,
    _make_project,
)
from tests.server.encord.guide import port_script
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.encord.live import serve_encord
from tests.server.encord.sdk_envs import SdkEnv
from tests.server.live import live_server

pytestmark = pytest.mark.slow

BRANCH = "model-b-predictions"
USER = "ann@example.org"


@dataclass(frozen=True)
class Served:
    url: str
    store: Path
    project_hash: str
    key: KeyPair
    folder: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    folder = tmp_path / "store"
    with Client(folder) as client:
        project = _make_project(client, "guide project")
        _ground_truth(project)
        project_hash = project.project_hash
    key = make_key_pair(tmp_path / "keys")
    with open_store(folder) as store:
        add_key(store, key.public_path.read_text(), user_email=USER, projects=[project_hash])
        with serve_encord(store) as url:
            yield Served(url, folder, project_hash, key, tmp_path)


def _run(sdk: SdkEnv, served: Served, name: str, **constants: str) -> str:
    script = port_script(
        name,
        served.folder,
        domain=served.url,
        SSH_PATH=str(served.key.private_path),
        PROJECT_HASH=served.project_hash,
        **constants,
    )
    done = sdk.run(script, cwd=served.folder, timeout=300)
    assert done.returncode == 0, f"encord {sdk.version}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _project(served: Served, client: Client) -> Project:
    return client.get_project(served.project_hash)


def test_store_predictions(encord_sdk: SdkEnv, served: Served) -> None:
    out = _run(encord_sdk, served, "store_predictions.py", PREDICTION_BRANCH_NAME=BRANCH)
    assert out.splitlines() == [
        f"Branch is: {BRANCH}",
        f"Stored {len(IMAGES)} predictions on branch {BRANCH!r}",
    ]
    with Client(served.store) as client:
        project = _project(served, client)
        assert project.list_branches() == ["main", BRANCH]
        rows = project.list_label_rows_v2(branch_name=BRANCH)
        assert sorted(r.data_title for r in rows) == sorted(p.name for p in IMAGES)
        bundle = project.create_bundle()
        for row in rows:
            row.initialise_labels(bundle=bundle)
        bundle.execute()
        for row in rows:
            [inst] = row.get_object_instances()
            assert inst.ontology_item is project.ontology_structure.objects[0]
            [ann] = inst.get_annotations()
            assert (ann.frame, ann.confidence, ann.manual_annotation) == (0, 0.8, False)
            assert ann.created_by == USER  # the server names the caller
            assert ann.coordinates == BoundingBoxCoordinates(
                height=0.1, width=0.1, top_left_x=0.5, top_left_y=0.5
            )


def _coco_import_supported(sdk: SdkEnv, folder: Path) -> bool:
    probe = folder / "probe_coco.py"
    probe.write_text(
        "import inspect\nfrom encord.project import Project\n"
        "print('confidence_field_name' in inspect.signature(Project.import_coco_labels).parameters)"
    )
    done = sdk.run(probe, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


def test_import_coco_predictions(encord_sdk: SdkEnv, served: Served) -> None:
    annotations = _coco_dataset(served.folder)
    constants = {"PREDICTION_BRANCH_NAME": BRANCH, "COCO_FILE": "COCOimportfile.json"}
    if not _coco_import_supported(encord_sdk, served.folder):
        # SDK 0.1.150 predates confidence_field_name: the guide's script stops in the SDK
        # before any request, and nothing reaches the store.
        script = port_script("import_coco_predictions.py", served.folder, domain=served.url,
                             SSH_PATH=str(served.key.private_path),
                             PROJECT_HASH=served.project_hash, **constants)  # fmt: skip
        done = encord_sdk.run(script, cwd=served.folder, timeout=300)
        assert done.returncode != 0 and "confidence_field_name" in done.stderr
        with Client(served.store) as client:
            assert _project(served, client).list_branches() == ["main"]
        return
    out = _run(encord_sdk, served, "import_coco_predictions.py", **constants)
    assert f"Imported {len(annotations)} COCO annotations onto branch {BRANCH!r}" in out
    images = {i["id"]: i for i in json.loads((SKIMAGE / "images_coco.json").read_text())["images"]}
    want = []
    for a in annotations:
        image = images[a["image_id"]]
        x, y, w, h = a["bbox"]
        width, height = image["width"], image["height"]
        box = (x / width, y / height, w / width, h / height)
        want.append((image["file_name"], a["score"], *(round(v, 9) for v in box)))
    with Client(served.store) as client:
        project = _project(served, client)
        assert project.list_branches() == ["main", BRANCH]
        rows = [r for r in project.list_label_rows_v2(branch_name=BRANCH) if r.label_hash]
        bundle = project.create_bundle()
        for row in rows:
            row.initialise_labels(bundle=bundle)
        bundle.execute()
        stored = []
        for row in rows:
            for inst in row.get_object_instances():
                for ann in inst.get_annotations():
                    c = ann.coordinates
                    box = (c.top_left_x, c.top_left_y, c.width, c.height)
                    stored.append((row.data_title, ann.confidence, *(round(v, 9) for v in box)))
    # every score kept exactly (Haar's unbounded ones too), every box normalised by its image
    assert sorted(stored) == sorted(want)


def test_verify_lists_every_branch(encord_sdk: SdkEnv, served: Served) -> None:
    _run(encord_sdk, served, "store_predictions.py", PREDICTION_BRANCH_NAME=BRANCH)
    out = _run(encord_sdk, served, "verify_import.py")
    titles = sorted(line for line in out.splitlines() if line.startswith("Title: "))
    expected = ["Title: astronaut.png, branch: main"] + [
        f"Title: {p.name}, branch: {BRANCH}" for p in IMAGES
    ]
    assert titles == sorted(expected)
    assert out.count("  confidence: 0.8, manual: False") == len(IMAGES)
    assert out.count("  confidence: 1.0, manual: True") == 1
    # Every SDK generation reads the ground truth's classification (both forms are served).
    assert "Classification name: scene" in out
    assert "Classification answer: outdoor" in out
    assert "Classification appears on frame: 0" in out


def test_guide_scripts_against_predscope_serve(encord_sdk: SdkEnv, tmp_path: Path) -> None:
    """The same scripts against the real ``predscope serve`` process (the app every user runs),
    started with ``--require-token``: Encord's endpoints check their own signatures."""
    folder = tmp_path / "store"
    with Client(folder) as client:
        project = _make_project(client, "guide project")
        _ground_truth(project)
        project_hash = project.project_hash
    key = make_key_pair(tmp_path / "keys")
    with open_store(folder) as store:
        add_key(store, key.public_path.read_text(), user_email=USER, projects=[project_hash])
        token, _ = create_token(store, "health checks")
    tmp = tmp_path / "server-tmp"
    with live_server(str(folder), tmp, extra=["--require-token"], token=token) as server:
        served = Served(server.url, folder, project_hash, key, tmp_path)
        out = _run(encord_sdk, served, "store_predictions.py", PREDICTION_BRANCH_NAME=BRANCH)
        assert out.splitlines()[-1] == f"Stored {len(IMAGES)} predictions on branch {BRANCH!r}"
        listing = _run(encord_sdk, served, "verify_import.py")
        # predscope's own API (which needs a token here) was not opened by the signature
        assert httpx.get(f"{server.url}/api/projects", timeout=30).status_code == 401
    assert listing.count(f", branch: {BRANCH}") == len(IMAGES)
    assert listing.count("  confidence: 0.8, manual: False") == len(IMAGES)
