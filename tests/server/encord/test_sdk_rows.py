"""Rows through the real SDK at every pinned version: every shape, nested answer and
classification predscope holds reads back in the SDK as predscope's own SDK reads it, and
classifications each SDK generation writes (per-frame or range form) are stored as ranges."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from predscope.objects.classification import Classification
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.frames import Range
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_object import Object
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from predscope.services.encord_keys import add_key
from predscope.store.engine import Store, open_store
from predscope.store.label_rows import load_documents
from tests.sdk.test_sdk_shapes_round_trip import (
    CHELSEA,
    _fill_image,
    _loaded,
    _ontology,
)
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.encord.live import serve_encord
from tests.server.encord.sdk_envs import SdkEnv
from tests.server.encord.sdk_scripts.summary import summarise
from tests.services.analysis.geometry_checks import assert_copies_current

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).parent / "sdk_scripts"


def _project(client: Client) -> Project:
    """The all-shapes project of the SDK round-trip test, minus audio and text objects and
    numeric attributes: SDK 0.1.150 cannot parse an ontology holding any of them."""
    ontology = _ontology()
    ontology["objects"] = [
        o for o in ontology["objects"] if o["shape"] not in ("audio", "text") and o["id"] != "22"
    ]
    ontology["classifications"] = [c for c in ontology["classifications"] if c["id"] != "30"]
    project = client.create_project("audit-shapes", ontology=ontology)
    project.add_data([
        CHELSEA,
        {"title": "clip.mp4", "data_type": "video", "width": 64, "height": 48,
         "number_of_frames": 10, "frames_per_second": 5.0, "duration": 2.0},
    ])  # fmt: skip
    return project


def _track(row: LabelRowV2) -> None:
    """A box tracked over two stretches of a video, with per-frame confidences, and a
    classification on a frame range."""
    onto = row.ontology_structure
    car = onto.get_child_by_title("Box", type_=Object).create_instance()
    box = BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1)
    car.set_for_frames(box, frames=Range(2, 4), confidence=0.5, manual_annotation=False)
    car.set_for_frames(box, frames=[7, 9], confidence=0.25)
    row.add_object_instance(car)
    text = onto.get_child_by_title("Text classification", type_=Classification).create_instance()
    text.set_answer("moving")
    text.set_for_frames(frames=[Range(0, 4), Range(8, 9)], confidence=0.75)
    row.add_classification_instance(text)


@dataclass(frozen=True)
class Shapes:
    url: str
    store: Store
    project_hash: str
    key: KeyPair
    expected: list[dict[str, Any]]


def shapes_project(client: Client) -> Project:
    """The all-shapes project with its rows on main filled: an image holding every shape, nested
    answer and classification, and a video with a track and frame-range classifications."""
    project = _project(client)
    rows = _loaded(project, "main")
    _fill_image(rows["chelsea.png"])
    _track(rows["clip.mp4"])
    with project.create_bundle() as bundle:
        for row in rows.values():
            row.save(bundle=bundle)
    return project


@pytest.fixture
def shapes(tmp_path: Path) -> Iterator[Shapes]:
    folder = tmp_path / "store"
    with Client(folder) as client:
        project = shapes_project(client)
        expected = json.loads(json.dumps(summarise(list(_loaded(project, "main").values()))))
        project_hash = project.project_hash
    key = make_key_pair(tmp_path / "keys")
    with open_store(folder) as store:
        add_key(store, key.public_path.read_text(), user_email="ann@example.org",
                projects=[project_hash])  # fmt: skip
        with serve_encord(store) as url:
            yield Shapes(url, store, project_hash, key, expected)


def _read(sdk: SdkEnv, s: Shapes) -> list[dict[str, Any]]:
    done = sdk.run(SCRIPTS / "read_rows.py", s.url, str(s.key.private_path), s.project_hash)
    assert done.returncode == 0, f"encord {sdk.version}:\n{done.stderr}"
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def test_every_shape_reads_back_as_predscope_reads_it(encord_sdk: SdkEnv, shapes: Shapes) -> None:
    seen = _read(encord_sdk, shapes)
    assert seen == shapes.expected
    [image] = [r for r in seen if r["title"] == "chelsea.png"]
    names = {o[0] for o in image["objects"]}
    assert {"Box", "Polygon", "Polyline", "Keypoint", "cone object", "Mask", "Turned"} <= names
    assert len(image["classifications"]) == 3  # radio (with nested text), text, checklist


def test_classifications_written_by_the_sdk_are_stored_as_ranges(
    encord_sdk: SdkEnv, shapes: Shapes
) -> None:
    branch = "sdk-classes"
    done = encord_sdk.run(SCRIPTS / "write_classifications.py", shapes.url,
                          str(shapes.key.private_path), shapes.project_hash, branch)  # fmt: skip
    assert done.returncode == 0, f"encord {encord_sdk.version}:\n{done.stderr}"
    assert done.stdout.split() == ["saved", "1"]
    with Client(shapes.store.url) as client:
        project = client.get_project(shapes.project_hash)
        [row] = [r for r in _loaded(project, branch).values() if r.data_title == "chelsea.png"]
        answers = sorted(
            (c.classification_name, str(getattr(c.get_answer(), "value", c.get_answer())),
             c.confidence if hasattr(c, "confidence") else None)
            for c in row.get_classification_instances()
        )  # fmt: skip
        assert [a[:2] for a in answers] == [
            ("Radio classification 1", "cl_1_option_2"),
            ("Text classification", "a cat"),
        ]
        assert all(
            [a.frame for a in c.get_annotations()] == [0]
            for c in row.get_classification_instances()
        )
        label_hash = str(row.label_hash)
    with shapes.store.read() as conn:
        document = load_documents(conn, [label_hash])[label_hash]
    ranges = [entry.get("range") for entry in document["classification_answers"].values()]
    assert ranges == [[[0, 0]], [[0, 0]]]
    assert_copies_current(shapes.store)  # the Encord API's save wrote each row's copy
    # ... and every SDK generation reads them back (both forms are served).
    seen = {(r["title"], r["branch"]): r for r in _read(encord_sdk, shapes)}
    got = sorted(c[:2] for c in seen[("chelsea.png", branch)]["classifications"])
    assert got == [["Radio classification 1", "cl_1_option_2"], ["Text classification", "a cat"]]
