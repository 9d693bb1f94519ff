"""COCO import rules: bad input of every kind changes nothing, re-imports, dry runs, maps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import (
    DuplicateImportError,
    ImportFormatError,
    InvalidArgumentsError,
    UnknownCategoryError,
)
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.coco import import_coco, import_coco_labels
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from predscope.utilities.coco.datastructure import FrameIndex
from tests.services.coco_fixtures import count_rows, ontology, open_test_store, stored_annotations


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(tmp_path)


IMAGES = [
    {"id": 1, "file_name": "a.jpg", "width": 100, "height": 50},
    {"id": "two", "file_name": "dir/b.jpg", "width": 200, "height": 100},
]
CATEGORIES = [{"id": 1, "name": "Cat"}, {"id": 2, "name": "dog"}]


def _dataset(annotations: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"images": IMAGES, "categories": CATEGORIES, "annotations": annotations, **extra}


def _write(tmp_path: Path, name: str, payload: Any) -> Path:
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


@pytest.fixture
def project(store: Store) -> ProjectRecord:
    record = create_project(
        store,
        "p",
        ontology([("cat", "bounding_box"), ("Dog", "bounding_box"), ("bird", "polygon")]),
    )
    add_data(
        store,
        record,
        [
            {"title": "a.jpg", "width": 100, "height": 50},
            {"title": "b.jpg", "width": 200, "height": 100},
        ],
    )
    return record


def _boxes(store: Store, project: ProjectRecord, branch: str) -> list[tuple[str, Any, float, bool]]:
    out = [
        (row.data_title, a.coordinates, a.confidence, a.manual_annotation)
        for row, _, a in stored_annotations(store, project, branch)
    ]
    return sorted(out, key=lambda t: (t[0], t[2]))


def test_dataset_with_string_ids_scores_and_clipping(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 5, 20, 10], "score": 0.5},
        {"id": 2, "image_id": "two", "category_id": 2, "bbox": [190, 90, 20, 20], "score": 1.5},
    ]
    report = import_coco(
        store, project, _write(tmp_path, "d.json", _dataset(anns)), ImportOptions(branch="preds")
    )
    assert (report.objects, report.rows, report.clipped) == (2, 2, 1)
    assert {m.how for m in report.mapping.categories} == {"normalised"}
    assert [m.how for m in report.mapping.images] == ["path", "basename"]
    assert report.per_class == {"cat": 1, "Dog": 1}
    boxes = _boxes(store, project, "preds")
    (_, a, conf_a, manual_a), (_, b, conf_b, _) = boxes
    assert (a.top_left_x, a.top_left_y, a.width, a.height) == (0.1, 0.1, 0.2, 0.2)
    assert (conf_a, manual_a) == (0.5, False)
    # Clipped to the 200x100 image: [190, 90, 10, 10], and the score kept although > 1.
    assert (b.top_left_x, b.top_left_y, b.width, b.height) == (0.95, 0.9, 0.05, 0.1)
    assert conf_b == 1.5


def test_results_list_needs_a_catalogue(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    results = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]
    path = _write(tmp_path, "r.json", results)
    with pytest.raises(ImportFormatError, match="pass --gt"):
        import_coco(store, project, path, ImportOptions(branch="p"))
    gt = _write(tmp_path, "gt.json", _dataset([]))
    assert import_coco(store, project, path, ImportOptions(branch="p"), gt_path=gt).objects == 1
    mapped = import_coco(
        store,
        project,
        path,
        ImportOptions(branch="q", image_map={"1": "b.jpg"}, category_map={"1": "Dog"}),
    )
    assert mapped.mapping_source == "maps"
    assert _boxes(store, project, "q")[0][0] == "b.jpg"


def test_custom_score_field(tmp_path: Path, store: Store, project: ProjectRecord) -> None:
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "conf": 0.25, "score": 0.9}]
    path = _write(tmp_path, "d.json", _dataset(anns))
    import_coco(store, project, path, ImportOptions(branch="p"), score_field="conf")
    assert _boxes(store, project, "p")[0][2] == 0.25


def test_unknown_category_error_or_skip(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    cats = [*CATEGORIES, {"id": 3, "name": "zebra"}]
    anns = [
        {"image_id": 1, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.8},
    ]
    path = _write(tmp_path, "d.json", {"images": IMAGES, "categories": cats, "annotations": anns})
    before = count_rows(store)
    with pytest.raises(UnknownCategoryError, match="zebra"):
        import_coco(store, project, path, ImportOptions(branch="p"))
    assert count_rows(store) == before
    report = import_coco(
        store, project, path, ImportOptions(branch="p", on_unknown_category="skip")
    )
    assert report.objects == 1 and report.skipped_categories == {"3 'zebra'": 1}


def test_unmatched_image_error_or_skip(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    images = [*IMAGES, {"id": 9, "file_name": "zz.jpg", "width": 10, "height": 10}]
    anns = [{"image_id": 9, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]
    path = _write(
        tmp_path, "d.json", {"images": images, "categories": CATEGORIES, "annotations": anns}
    )
    with pytest.raises(ImportFormatError, match="zz.jpg"):
        import_coco(store, project, path, ImportOptions(branch="p"))
    anns.append({"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5})
    path = _write(
        tmp_path, "d.json", {"images": images, "categories": CATEGORIES, "annotations": anns}
    )
    report = import_coco(store, project, path, ImportOptions(branch="p", on_unknown_image="skip"))
    assert report.objects == 1 and report.skipped_images == {"9 'zz.jpg'": 1}


def test_reimport_is_refused_and_replace_swaps(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]
    path = _write(tmp_path, "d.json", _dataset(anns))
    import_coco(store, project, path, ImportOptions(branch="p"))
    before = count_rows(store)
    with pytest.raises(DuplicateImportError, match="replace=True"):
        import_coco(store, project, path, ImportOptions(branch="p"))
    with pytest.raises(DuplicateImportError):
        import_coco(store, project, path, ImportOptions(branch="p", dry_run=True))
    assert count_rows(store) == before
    other = _write(tmp_path, "e.json", _dataset([{**anns[0], "image_id": "two", "score": 0.1}]))
    import_coco(
        store, project, other, ImportOptions(branch="p", append=True)
    )  # a different file adds to the branch
    assert len(_boxes(store, project, "p")) == 2
    report = import_coco(store, project, path, ImportOptions(branch="p", replace=True))
    assert report.replaced
    assert [(t, c) for t, _, c, _ in _boxes(store, project, "p")] == [("a.jpg", 0.9)]


def test_dry_run_writes_nothing(tmp_path: Path, store: Store, project: ProjectRecord) -> None:
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]
    before = count_rows(store)
    report = import_coco(
        store,
        project,
        _write(tmp_path, "d.json", _dataset(anns)),
        ImportOptions(branch="p", dry_run=True),
    )
    assert (report.objects, report.rows, report.dry_run) == (1, 1, True)
    assert count_rows(store) == before


GOOD = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "empty"),
        ('{"images": [', "truncated"),
        ('{"images": [},\n "x": 1}', "line 1, column"),
        ('[{"image_id": 1,\n "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, }]', "line 2"),
        ('"hello"', "COCO"),
        ('{"foo": 1}', "images"),
        (_dataset([{**GOOD, "bbox": "x"}]), r"annotations\[0\]\.bbox"),
        (_dataset([GOOD, {**GOOD, "bbox": [0, 0, -1, 5]}]), r"annotations\[1\]\.bbox.*negative"),
        (_dataset([{**GOOD, "bbox": [0, None, 1, 1]}]), r"annotations\[0\]\.bbox"),
        (_dataset([{**GOOD, "image_id": 77}]), r"annotations\[0\]\.image_id.*77"),
        (_dataset([{**GOOD, "category_id": 8}]), r"annotations\[0\]\.category_id"),
        (_dataset([{**GOOD, "bbox": [0.1, 0.1, 0.2, 0.2]}]), "look normalised"),
        (_dataset([{**GOOD, "segmentation": [[[1, 2], [3, 4]]]}]), r"annotations\[0\]\.segm"),
        (
            {
                "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 50}],
                "categories": CATEGORIES,
                "annotations": [GOOD],
            },
            r"images\[0\].*640x50",
        ),
        (
            {
                "images": [{"id": 1, "file_name": "a.jpg", "width": -3, "height": 50}],
                "categories": CATEGORIES,
                "annotations": [GOOD],
            },
            r"images\[0\]",
        ),
        (_dataset([{**GOOD, "score": "high"}]), r"annotations\[0\]\.score"),
    ],
)
def test_bad_input_changes_nothing(
    tmp_path: Path,
    store: Store,
    project: ProjectRecord,
    payload: Any,
    message: str,
) -> None:
    path = _write(tmp_path, "bad.json", payload)
    before = count_rows(store)
    with pytest.raises(ImportFormatError, match=message) as info:
        import_coco(store, project, path, ImportOptions(branch="p"))
    assert str(path) in str(info.value)
    assert count_rows(store) == before


def test_bad_geometry_for_shape(tmp_path: Path, store: Store, project: ProjectRecord) -> None:
    # An RLE mask cannot become the polygon object "bird".
    cats = [{"id": 5, "name": "bird"}]
    rle = {"size": [50, 100], "counts": [0, 5000]}
    anns = [{"image_id": 1, "category_id": 5, "segmentation": rle, "score": 0.3}]
    path = _write(tmp_path, "d.json", {"images": IMAGES, "categories": cats, "annotations": anns})
    with pytest.raises(ImportFormatError, match=r"\[0\]\.segmentation.*polygon object 'bird'"):
        import_coco(store, project, path, ImportOptions(branch="p"))


def test_bad_options(tmp_path: Path, store: Store, project: ProjectRecord) -> None:
    path = _write(tmp_path, "d.json", _dataset([GOOD]))
    with pytest.raises(InvalidArgumentsError):
        import_coco(store, project, path, ImportOptions(branch="p", on_unknown_category="ignore"))
    with pytest.raises(ImportFormatError, match="cannot read"):
        import_coco(store, project, tmp_path / "missing.json", ImportOptions(branch="p"))


def test_import_coco_labels_encord_signature(store: Store, project: ProjectRecord) -> None:
    onto = OntologyStructure.from_dict(project.ontology)
    cat = onto.get_child_by_title("cat")
    rows = {r.data_title: r for r in list_label_rows(store, project, onto)}
    labels = _dataset(
        [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.4},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [0, 0, 5, 5], "score": 0.4},
            {"id": 3, "image_id": "two", "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.4},
        ]
    )
    report = import_coco_labels(
        store,
        project,
        labels,
        {1: cat.feature_node_hash},
        {1: FrameIndex(rows["a.jpg"].data_hash, frame=0)},
        ImportOptions(branch="enc"),
        confidence_field_name="score",
    )
    # Unmapped category 2 and image "two" are skipped, as in Encord.
    assert report.objects == 1
    assert _boxes(store, project, "enc")[0][2:] == (0.4, False)
    with pytest.raises(DuplicateImportError):
        import_coco_labels(
            store,
            project,
            labels,
            {1: cat.feature_node_hash},
            {1: FrameIndex(rows["a.jpg"].data_hash)},
            ImportOptions(branch="enc"),
            confidence_field_name="score",
        )


def test_stored_documents_are_what_the_codec_writes(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    """The fast path clones codec templates; re-encoding a stored row must change nothing."""
    from predscope.objects.label_row import LabelRowV2
    from predscope.store import label_rows as row_repo

    cats = [*CATEGORIES, {"id": 5, "name": "bird"}]
    anns = [
        {
            "id": 7,
            "image_id": 1,
            "category_id": 1,
            "bbox": [10, 5, 20, 10],
            "area": 200.0,
            "iscrowd": 0,
        },
        {
            "id": 8,
            "image_id": 1,
            "category_id": 5,
            "segmentation": [[1, 1, 30, 1, 30, 20]],
            "bbox": [1, 1, 29, 19],
            "iscrowd": 0,
            "area": 275.5,
        },
    ]
    path = _write(tmp_path, "gt.json", {"images": IMAGES, "categories": cats, "annotations": anns})
    import_coco(store, project, path, ImportOptions(branch="main", ground_truth=True))
    onto = OntologyStructure.from_dict(project.ontology)
    (row,) = [r for r in list_label_rows(store, project, onto) if r.label_hash]
    with store.read() as conn:
        stored = row_repo.load_documents(conn, [row.label_hash])[row.label_hash]
    again = LabelRowV2.from_labels_dict(stored, onto, row.metadata).to_encord_dict()
    assert again == stored
    entries = next(iter(stored["data_units"].values()))["labels"]["objects"]
    assert [e["coco"] for e in entries] == [
        {"iscrowd": 0, "area": 200.0, "bbox": [10.0, 5.0, 20.0, 10.0], "id": 7},
        {"iscrowd": 0, "area": 275.5, "bbox": [1.0, 1.0, 29.0, 19.0], "id": 8},
    ]
    assert [e["shape"] for e in entries] == ["bounding_box", "polygon"]


def test_image_group_frames_by_title_and_map(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    add_data(
        store,
        project,
        [
            {
                "title": "grp",
                "images": [
                    {"title": "g0.png", "width": 100, "height": 50},
                    {"title": "g1.png", "width": 100, "height": 50},
                ],
            }
        ],
    )
    images = [
        {"id": 1, "file_name": "g1.png", "width": 100, "height": 50},
        {"id": 2, "file_name": "other.png", "width": 100, "height": 50},
    ]
    anns = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 20, 10], "score": 0.6},
    ]
    onto = OntologyStructure.from_dict(project.ontology)
    group = next(r for r in list_label_rows(store, project, onto) if r.data_title == "grp")
    path = _write(
        tmp_path, "g.json", {"images": images, "categories": CATEGORIES, "annotations": anns}
    )
    report = import_coco(
        store, project, path, ImportOptions(branch="grp", image_map={"2": f"{group.data_hash}:0"})
    )
    assert (report.objects, report.rows) == (2, 1)
    (row,) = [r for r in list_label_rows(store, project, onto, branch_name="grp") if r.label_hash]
    row.initialise_labels()
    frames = sorted(
        (a.frame, a.confidence) for i in row.get_object_instances() for a in i.get_annotations()
    )
    assert frames == [(0, 0.6), (1, 0.5)]


def test_keypoints_become_a_skeleton(tmp_path: Path, store: Store) -> None:
    from predscope.objects.coordinates import SkeletonCoordinates, Visibility

    onto = ontology([("person", "skeleton")])
    fh = onto["objects"][0]["featureNodeHash"]
    onto["skeleton_templates"] = [
        {
            "template": {
                "name": "person",
                "width": 1,
                "height": 1,
                "shape": "skeleton",
                "feature_node_hash": fh,
                "skeleton": {
                    "0": {
                        "x": 0.5,
                        "y": 0.2,
                        "name": "nose",
                        "color": "#000000",
                        "value": "nose",
                        "featureHash": "kpnose01",
                    },
                    "1": {
                        "x": 0.4,
                        "y": 0.1,
                        "name": "eye",
                        "color": "#000000",
                        "value": "eye",
                        "featureHash": "kpeye001",
                    },
                },
                "skeletonEdges": {"0": {"1": {"color": "#000000"}}},
            }
        }
    ]
    project = create_project(store, "kp", onto)
    add_data(store, project, [{"title": "a.jpg", "width": 100, "height": 50}])
    data = {
        "images": [IMAGES[0]],
        "categories": [{"id": 1, "name": "person", "keypoints": ["eye", "nose"], "skeleton": []}],
        "annotations": [
            {
                "id": 3,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 50, 50],
                "keypoints": [10, 5, 1, 50, 25, 2],
                "num_keypoints": 2,
                "iscrowd": 0,
                "area": 100,
            }
        ],
    }
    import_coco(
        store,
        project,
        _write(tmp_path, "kp.json", data),
        ImportOptions(branch="main", ground_truth=True),
    )
    structure = OntologyStructure.from_dict(project.ontology)
    (row,) = [r for r in list_label_rows(store, project, structure) if r.label_hash]
    row.initialise_labels()
    skeleton = row.get_object_instances()[0].get_annotation(0).coordinates
    assert isinstance(skeleton, SkeletonCoordinates)
    points = [(p.name, p.x, p.y, p.visibility, p.feature_hash) for p in skeleton.values]
    assert points == [
        ("eye", 0.1, 0.1, Visibility.OCCLUDED, "kpeye001"),
        ("nose", 0.5, 0.5, Visibility.VISIBLE, "kpnose01"),
    ]
    from predscope.services.exports.coco import export_coco

    exported = export_coco(store, project)
    assert isinstance(exported, dict)
    (ann,) = exported["annotations"]
    assert ann["keypoints"] == [10.0, 5.0, 1, 50.0, 25.0, 2] and ann["num_keypoints"] == 2
    assert exported["categories"][0]["keypoints"] == ["eye", "nose"]


def test_mostly_normalised_boxes_warn_with_the_count(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    """One pixel-sized box used to let nine normalised ones through without a word."""
    anns = [
        {"image_id": "two", "category_id": 1, "bbox": [0.1, 0.1, 0.2, 0.2], "score": 0.5}
    ] * 9 + [{"image_id": "two", "category_id": 1, "bbox": [1.5, 0.1, 0.2, 0.2], "score": 0.5}]
    report = import_coco(
        store, project, _write(tmp_path, "n.json", _dataset(anns)), ImportOptions(branch="n")
    )
    assert report.objects == 10
    (warning,) = report.warnings
    assert warning.startswith("9 of 10 boxes fit in the unit square")
    assert f"warning: {warning}" in report.summary_lines()
    assert report.to_dict()["warnings"] == [warning]
    every = [{**a, "bbox": [0.1, 0.1, 0.2, 0.2]} for a in anns]
    with pytest.raises(ImportFormatError, match="all 10 boxes fit in the unit square"):
        import_coco(
            store, project, _write(tmp_path, "m.json", _dataset(every)), ImportOptions(branch="m")
        )


@pytest.mark.parametrize(
    "bbox", [[250, 10, 20, 20], [-40, 10, 20, 20], [10, 100, 5, 5], [10, -30, 5, 20]]
)
def test_a_box_entirely_outside_its_image_is_an_error(
    tmp_path: Path, store: Store, project: ProjectRecord, bbox: list[float]
) -> None:
    """It used to become a 0x0 box, counted as clipped."""
    anns = [
        {"image_id": "two", "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.5},
        {"image_id": "two", "category_id": 1, "bbox": bbox, "score": 0.5},
    ]
    before = count_rows(store)
    with pytest.raises(ImportFormatError, match=r"annotations\[1\]\.bbox: the box .* lies "
                       r"entirely outside its 200x100 image"):  # fmt: skip
        import_coco(
            store, project, _write(tmp_path, "o.json", _dataset(anns)), ImportOptions(branch="o")
        )
    assert count_rows(store) == before
    # Partly outside is still clipped and counted.
    anns[1]["bbox"] = [190, 10, 20, 20]
    report = import_coco(
        store, project, _write(tmp_path, "c.json", _dataset(anns)), ImportOptions(branch="c")
    )
    assert (report.objects, report.clipped) == (2, 1)
