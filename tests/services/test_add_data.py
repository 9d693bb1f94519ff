"""add_data: folders keep relative paths in titles, re-adding is a no-op, clashes are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from predscope.exceptions import InvalidArgumentsError, ResourceExistsError
from predscope.sdk.client import Client
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from tests.services.coco_fixtures import SKIMAGE, ontology

IMAGES = SKIMAGE / "images"


@pytest.fixture
def cams(tmp_path: Path) -> Path:
    """Two cameras that both wrote 0001.png, one nested folder, one hidden folder."""
    root = tmp_path / "cams"
    for rel, source in [
        ("cam1/0001.png", "camera.png"),
        ("cam2/0001.png", "coins.png"),
        ("cam2/night/0002.jpg", "rocket.jpg"),
        (".thumbs/0001.png", "page.png"),
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(IMAGES / source, root / rel)
    (root / "notes.txt").write_text("not media")
    return root


def test_folders_are_walked_and_titled_by_relative_path(store_url: str, cams: Path) -> None:
    with Client(store_url) as client:
        project = client.create_project("p", ontology=ontology([("thing", "bounding_box")]))
        report = project.add_data([cams])
        assert [u.data_title for u in report] == [
            "cam1/0001.png",
            "cam2/0001.png",
            "cam2/night/0002.jpg",
        ]
        assert report.added[1].width == 384  # coins.png (384 x 303), probed
        assert report.skipped == []
        # Again, in two ways: the folder, and one of its files directly. Nothing new.
        again = project.add_data([cams, cams / "cam1" / "0001.png"])
        assert len(again) == 0 and len(again.skipped) == 4
        assert {s.data_title for s in again.skipped} >= {"cam1/0001.png", "cam2/night/0002.jpg"}
        assert len(project.list_data_units()) == 3
        history = project.list_history()
        assert [e.details["added"] for e in history if e.action == "add data"] == [3]


def test_the_same_file_twice_in_one_call_is_added_once(store_url: str) -> None:
    with Client(store_url) as client:
        project = client.create_project("p", ontology=ontology([("thing", "bounding_box")]))
        path = IMAGES / "camera.png"
        report = project.add_data([path, str(path)])
        assert [u.data_title for u in report] == ["camera.png"]
        assert [s.data_link for s in report.skipped] == [str(path.resolve())]


def test_titles_by_name_clash_and_nothing_is_added(store_url: str, cams: Path) -> None:
    with Client(store_url) as client:
        project = client.create_project("p", ontology=ontology([("thing", "bounding_box")]))
        with pytest.raises(ResourceExistsError) as caught:
            project.add_data([cams], title_from="name")
        message = str(caught.value)
        assert "cam1/0001.png" in message and "cam2/0001.png" in message
        assert "'0001.png'" in message
        assert project.list_data_units() == []
        project.add_data([IMAGES / "camera.png"])
        other = cams / "cam1" / "0001.png"
        other.unlink()
        shutil.copy(IMAGES / "coins.png", cams / "camera.png")
        with pytest.raises(ResourceExistsError, match="'camera.png'.*already the title"):
            project.add_data([cams / "camera.png"])  # another file under a taken title
        with pytest.raises(InvalidArgumentsError, match="title_from='path'"):
            project.add_data([cams], title_from="path")


def test_dicts_given_again_are_skipped_and_a_different_one_refused(store_url: str) -> None:
    with Client(store_url) as client:
        project = client.create_project("p", ontology=ontology([("thing", "bounding_box")]))
        project.add_data([{"title": "a.jpg", "width": 10, "height": 20}])
        again = project.add_data([{"title": "a.jpg", "width": 10, "height": 20}])
        assert len(again) == 0 and [s.data_title for s in again.skipped] == ["a.jpg"]
        with pytest.raises(ResourceExistsError, match="'a.jpg'"):
            project.add_data([{"title": "a.jpg", "width": 11, "height": 20}])
        with pytest.raises(ResourceExistsError, match="'a.jpg'"):
            project.add_image_group("a.jpg", [{"title": "f", "width": 1, "height": 1}])
        assert len(project.list_data_units()) == 1


def test_coco_file_names_with_folders_match_relative_titles(
    store_url: str, cams: Path, tmp_path: Path
) -> None:
    with Client(store_url) as client:
        project = client.create_project("p", ontology=ontology([("thing", "bounding_box")]))
        units = project.add_data([cams])
        images = [(i + 1, u.data_title, u.width, u.height) for i, u in enumerate(units)]
        dataset = {
            "images": [
                {"id": i, "file_name": name, "width": w, "height": h} for i, name, w, h in images
            ],
            "annotations": [
                {"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, i, i], "area": i * i}
                for i, *_ in images
            ],
            "categories": [{"id": 1, "name": "thing"}],
        }
        gt = tmp_path / "gt.json"
        gt.write_text(json.dumps(dataset))
        report = import_coco(client.store, project.record, gt, ImportOptions(ground_truth=True))
        assert report.rows == 3
        widths = {}
        for row in project.list_label_rows_v2(branch_name="main"):
            row.initialise_labels()
            [obj] = row.get_object_instances()
            widths[row.data_title] = obj.get_annotation(0).coordinates.width * row.width
        assert widths == pytest.approx(
            {"cam1/0001.png": 1.0, "cam2/0001.png": 2.0, "cam2/night/0002.jpg": 3.0}
        )
