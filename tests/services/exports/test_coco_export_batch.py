"""The COCO export's batched box pixels give the bytes of the one-box-at-a-time path.

``services.exports.coco`` finds the pixel bboxes of a batch's plain boxes in one numpy pass
(``coco_pixels.box_bboxes``); every other annotation, and every box when that pass is switched
off here, goes through ``coco_writer.coco_fields`` one at a time. Both must write the same
bytes: on the shipped data (boxes, masks, both exports, compact and indented) and on generated
full-precision boxes (the benchmark's kind, where the rounding search runs longest).
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from predscope.services.exports import coco
from predscope.services.exports.coco import write_coco_export
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project, get_project
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import ontology, open_test_store


def exported(
    store: Store, project: ProjectRecord, branch: str, results: bool, indent: bool
) -> bytes:
    buffer = io.BytesIO()
    write_coco_export(store, project, buffer, branch_name=branch, results=results, indent=indent)
    return buffer.getvalue()


def both_ways(
    store: Store, project: ProjectRecord, branch: str, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[bytes, bytes]]:
    """(batched, one at a time) for the dataset and results exports, compact and indented."""
    cases = [(r, i) for r in (False, True) for i in (False, True)]
    batched = [exported(store, project, branch, r, i) for r, i in cases]
    with monkeypatch.context() as patch:
        patch.setattr(coco, "_batch_bboxes", lambda kept: {})
        single = [exported(store, project, branch, r, i) for r, i in cases]
    return list(zip(batched, single, strict=True))


def test_shipped_exports_are_the_same_bytes(location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(location) as store:
        project = get_project(store, "coco")
        for branch in ("main", "bbox", "segm"):
            for batched, single in both_ways(store, project, branch, monkeypatch):
                assert batched == single, branch
                assert len(batched) > 1000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(tmp_path)


def generated_case(tmp_path: Path, seed: int) -> tuple[Path, Path]:
    """A small dataset and results list with full-precision boxes, as a model writes them,
    and some on the image's edges, rounded, integral or clipped."""
    rng = random.Random(seed)
    images = [
        {"id": i + 1, "file_name": f"im{i}.png", "width": rng.randint(1, 4000), "height": h}
        for i, h in enumerate(rng.randint(1, 3000) for _ in range(25))
    ]
    gt, dt = [], []
    for image in images:
        w, h = image["width"], image["height"]
        for _ in range(rng.randint(0, 12)):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            box = [x, y, rng.uniform(0, w - x), rng.uniform(0, h - y)]
            kind = rng.random()
            if kind < 0.2:
                box = [round(v, rng.randint(0, 4)) for v in box]
            elif kind < 0.3:
                box = [0, 0, w, h]
            elif kind < 0.35:
                box = [x - 5, y - 5, w, h]  # clipped on import
            ann = {"image_id": image["id"], "category_id": 1, "bbox": box}
            dt.append({**ann, "score": rng.random()})
            gt.append({**ann, "id": len(gt) + 1, "area": box[2] * box[3], "iscrowd": 0})
    dataset = {"images": images, "annotations": gt, "categories": [{"id": 1, "name": "thing"}]}
    (tmp_path / "gt.json").write_text(json.dumps(dataset))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    return tmp_path / "gt.json", tmp_path / "dt.json"


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_full_precision_boxes_are_the_same_bytes(
    store: Store, tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    gt_file, dt_file = generated_case(tmp_path, seed)
    dataset = json.loads(gt_file.read_text())
    project = create_project(store, "gen", ontology([("thing", "bounding_box")]))
    add_data(
        store,
        project,
        [
            {"title": im["file_name"], "width": im["width"], "height": im["height"]}
            for im in dataset["images"]
        ],
    )
    import_coco(store, project, gt_file, ImportOptions(ground_truth=True))
    import_coco(store, project, dt_file, ImportOptions(branch="model"))
    for branch in ("main", "model"):
        pairs = both_ways(store, project, branch, monkeypatch)
        for batched, single in pairs:
            assert batched == single, branch
        assert len(json.loads(pairs[2][0])) > 50  # the results list, compact
