"""The COCO reader: columns, loadRes rules and located errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from predscope.exceptions import ImportFormatError
from predscope.formats.coco import (
    detection_inputs,
    ground_truth_inputs,
    image_sizes,
    load_coco_pair,
)
from predscope.formats.coco_reader import read_coco, read_coco_file

DATA = Path(__file__).resolve().parents[2] / "data"


def _gt(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "images": [{"id": 7, "width": 50, "height": 40}, {"id": 3, "width": 50, "height": 40}],
        "categories": [{"id": 5, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 5,
                "bbox": [1, 2, 10, 20],
                "area": 150.0,
                "iscrowd": 0,
                "segmentation": [[1, 2, 11, 2, 11, 22, 1, 22]],
            },
            {
                "id": 2,
                "image_id": 3,
                "category_id": 2,
                "bbox": [0, 0, 4, 4],
                "area": 16,
                "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]],
            },
        ],
    }
    doc.update(changes)
    return doc


def _read(doc: Any, name: str = "f.json") -> Any:
    return read_coco(orjson.dumps(doc), name)


def test_ground_truth_columns_in_pycocotools_order() -> None:
    gt = ground_truth_inputs(_read(_gt()))
    assert gt.image_ids == (3, 7) and gt.category_ids == (2, 5)
    assert gt.category_names == ("dog", "cat")
    assert gt.image.tolist() == [1, 0] and gt.category.tolist() == [1, 0]
    assert gt.area.tolist() == [150.0, 16.0]
    np.testing.assert_array_equal(gt.bbox[0], [1, 2, 10, 20])


def test_bbox_results_get_box_area_and_unknown_category_minus_one() -> None:
    gt_file = _read(_gt())
    gt = ground_truth_inputs(gt_file)
    dt = detection_inputs(
        _read(
            [
                {"image_id": 7, "category_id": 5, "bbox": [0, 0, 3, 4], "score": 0.5},
                {"image_id": 3, "category_id": 99, "bbox": [0, 0, 2, 2], "score": 0.4},
            ]
        ),
        gt,
        image_sizes(gt_file),
    )
    assert dt.area.tolist() == [12.0, 4.0]
    assert dt.category.tolist() == [1, -1]
    assert dt.image.tolist() == [1, 0]


def test_segm_results_area_and_box_from_the_mask() -> None:
    gt_file = read_coco_file(str(DATA / "detectron2-coco-mini/gt_val2017_139_285.json"))
    gt = ground_truth_inputs(gt_file, "segm")
    raw = orjson.loads((DATA / "detectron2-coco-mini/dt_maskrcnn_139.json").read_bytes())
    no_box = [{k: v for k, v in d.items() if k != "bbox"} for d in raw]
    from pycocotools import mask as mask_utils

    dt = detection_inputs(_read(no_box), gt, image_sizes(gt_file), "segm")
    for i, d in enumerate(raw):
        assert dt.area[i] == float(mask_utils.area(d["segmentation"]))
        np.testing.assert_array_equal(dt.bbox[i], mask_utils.toBbox(d["segmentation"]))
    with_box = detection_inputs(_read(raw), gt, image_sizes(gt_file), "segm")
    boxes = np.array([d["bbox"] for d in raw])
    np.testing.assert_array_equal(with_box.area, boxes[:, 2] * boxes[:, 3])


def test_keypoint_results_use_the_keypoint_extent() -> None:
    gt_doc = _gt()
    for a in gt_doc["annotations"]:
        a["keypoints"] = [1, 1, 2, 5, 5, 2]
        a["num_keypoints"] = 2
    gt_file = read_coco(orjson.dumps(gt_doc), "gt.json", "keypoints")
    gt = ground_truth_inputs(gt_file, "keypoints")
    dt = detection_inputs(
        read_coco(
            orjson.dumps(
                [{"image_id": 7, "category_id": 5, "keypoints": [2, 3, 1, 6, 11, 1], "score": 0.9}]
            ),
            "dt.json",
            "keypoints",
        ),
        gt,
        image_sizes(gt_file),
        "keypoints",
    )
    assert dt.area.tolist() == [32.0]
    assert dt.bbox.tolist() == [[2.0, 3.0, 4.0, 8.0]]


def test_string_ids() -> None:
    doc = _gt()
    for im in doc["images"]:
        im["id"] = f"im{im['id']}"
    for a in doc["annotations"]:
        a["image_id"] = f"im{a['image_id']}"
    gt = ground_truth_inputs(_read(doc))
    assert gt.image_ids == ("im3", "im7")
    dt = detection_inputs(
        _read([{"image_id": "im7", "category_id": 2, "bbox": [0, 0, 1, 1], "score": 1}]), gt
    )
    assert dt.image.tolist() == [1]


def test_empty_results_list() -> None:
    gt = ground_truth_inputs(_read(_gt()))
    assert detection_inputs(_read([]), gt).num_detections == 0


@pytest.mark.parametrize(
    ("payload", "location", "message"),
    [
        (b"", "", "empty"),
        (b'{"images": [,]}', "line 1, column 13", "malformed"),
        (b'{\n  "images": [\n    {"id": 1,}\n  ]}', "line 3", "malformed"),
        (b'{"info": {}}', "", "missing required field `images`"),
        (b"42", "", "Expected"),
        (b'[{"image_id": 1,\n  "bbox": [1, 2', "line 2, column 16", "truncated"),
        (b'[{"image_id": 1, "score": NaN}]', "line 1, column 27", "no NaN or Infinity"),
        (b'[{"image_id": 1, "score": -Infinity}]', "line 1, column 28", "no NaN or Infinity"),
    ],
)
def test_syntax_errors_are_located(payload: bytes, location: str, message: str) -> None:
    with pytest.raises(ImportFormatError) as exc:
        read_coco(payload, "bad.json")
    assert exc.value.source == "bad.json"
    assert location in exc.value.location
    assert message in str(exc.value)


def test_wrong_type_names_record_and_field() -> None:
    doc = _gt()
    doc["annotations"][1]["bbox"] = [0, 0, "4", 4]
    with pytest.raises(ImportFormatError) as exc:
        _read(doc, "gt.json")
    assert exc.value.location == "annotations[1].bbox[2]"
    assert "gt.json:annotations[1].bbox[2]" in str(exc.value)


@pytest.mark.parametrize(
    ("field", "value", "location", "text"),
    [
        ("bbox", [0, 0, -4, 4], "annotations[1].bbox", "negative"),
        ("bbox", [0, 0, 4], "annotations[1].bbox", "expected 4"),
        ("area", -3, "annotations[1].area", "invalid"),
        ("image_id", 99, "annotations[1].image_id", "not declared"),
        ("category_id", 99, "annotations[1].category_id", "not declared"),
    ],
)
def test_semantic_errors(field: str, value: Any, location: str, text: str) -> None:
    doc = _gt()
    doc["annotations"][1][field] = value
    with pytest.raises(ImportFormatError) as exc:
        ground_truth_inputs(_read(doc))
    assert exc.value.location == location
    assert text in str(exc.value)


def test_missing_gt_area_and_duplicate_ids() -> None:
    doc = _gt()
    del doc["annotations"][0]["area"]
    with pytest.raises(ImportFormatError, match=r"annotations\[0\]\.area"):
        ground_truth_inputs(_read(doc))
    doc = _gt()
    doc["images"][1]["id"] = 7
    with pytest.raises(ImportFormatError, match=r"images\[1\]\.id: duplicate"):
        _read(doc)


def test_result_errors() -> None:
    gt = ground_truth_inputs(_read(_gt()))
    with pytest.raises(ImportFormatError, match=r"\[1\]\.image_id: 12"):
        detection_inputs(
            _read(
                [
                    {"image_id": 7, "category_id": 5, "bbox": [0, 0, 1, 1], "score": 1},
                    {"image_id": 12, "category_id": 5, "bbox": [0, 0, 1, 1], "score": 1},
                ]
            ),
            gt,
        )
    with pytest.raises(ImportFormatError, match=r"\[0\]\.score: missing"):
        detection_inputs(_read([{"image_id": 7, "category_id": 5, "bbox": [0, 0, 1, 1]}]), gt)
    with pytest.raises(ImportFormatError, match="is a results list"):
        ground_truth_inputs(_read([]))
    mixed = _gt()
    mixed["images"][0]["id"] = "seven"
    mixed["annotations"][0]["image_id"] = "seven"
    with pytest.raises(ImportFormatError, match="mixes integer and string ids"):
        ground_truth_inputs(_read(mixed))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="cannot read"):
        load_coco_pair(str(tmp_path / "nope.json"), str(tmp_path / "nope.json"))


def test_chunked_decoding_keeps_locations_and_order(monkeypatch: pytest.MonkeyPatch) -> None:
    import predscope.formats.coco_reader as reader

    monkeypatch.setattr(reader, "_CHUNK", 3)
    rows = [
        {"image_id": 7, "category_id": 5, "bbox": [i, 0, 1, 1], "score": i / 10} for i in range(8)
    ]
    parsed = _read(rows)
    assert parsed.annotations.bbox[:, 0].tolist() == list(range(8))
    assert parsed.annotations.score.tolist() == [i / 10 for i in range(8)]
    rows[7]["score"] = "high"
    with pytest.raises(ImportFormatError) as exc:
        _read(rows)
    assert exc.value.location == "[7].score"
    doc = _gt()
    doc["annotations"] = doc["annotations"] * 2
    doc["annotations"][3] = dict(doc["annotations"][3], bbox=[0, 0, -1, 1])
    with pytest.raises(ImportFormatError) as exc:
        _read(doc)
    assert exc.value.location == "annotations[3].bbox"


def test_utf8_byte_order_mark_is_not_content() -> None:
    plain = orjson.dumps(_gt())
    with_bom = read_coco(b"\xef\xbb\xbf" + plain, "bom.json")
    without = read_coco(plain, "plain.json")
    assert with_bom.kind == without.kind == "dataset"
    assert with_bom.annotations.bbox.tolist() == without.annotations.bbox.tolist()
