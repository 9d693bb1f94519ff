"""The geometry copy of a label row: what it holds decodes back exactly, columns an importer
holds give the same bytes as the document they become, and what it cannot hold exactly is
marked for the JSON path instead of being approximated."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pytest

from predscope.formats.row_geometry import (
    BOX,
    COCO,
    COCO_AREA,
    COCO_BBOX,
    COCO_CROWD,
    NEEDS_JSON,
    ROTATED,
    coco_extras,
    decode_rows,
    encode_columns,
    encode_document,
    frame_entries,
    needs_json,
)


def _entry(rng: np.random.Generator, i: int, shape: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "featureHash": f"f{int(rng.integers(0, 4))}",
        "objectHash": f"o{i:07d}é",
        "shape": shape,
        "name": "thing",
        "color": "#FFFFFF",
    }
    if rng.random() < 0.8:
        entry["confidence"] = float(rng.random())
    numbers = {k: float(v) for k, v in zip("xywh", rng.random(4), strict=True)}
    if shape == "bounding_box":
        entry["boundingBox"] = numbers
    elif shape == "rotatable_bounding_box":
        entry["rotatableBoundingBox"] = {**numbers, "theta": float(rng.uniform(-180, 180))}
    elif shape == "polygon":
        entry["polygons"] = [[[0.1, 0.1, 0.5, 0.1, 0.5, 0.5]]]
    if rng.random() < 0.3:
        coco: dict[str, Any] = {"iscrowd": int(rng.random() < 0.5)}
        if rng.random() < 0.7:
            coco["area"] = float(rng.uniform(1, 500))
        if rng.random() < 0.7:
            coco["bbox"] = [float(v) for v in rng.uniform(0, 100, 4)]
        entry["coco"] = coco
    return entry


def _document(rng: np.random.Generator, data_type: str, objects: int) -> dict[str, Any]:
    shapes = ("bounding_box", "rotatable_bounding_box", "polygon", "point")
    entries = [_entry(rng, i, str(rng.choice(shapes))) for i in range(objects)]
    if data_type == "video":
        labels: dict[str, Any] = {}
        for entry in entries:
            labels.setdefault(str(int(rng.integers(0, 9))), {"objects": []})["objects"].append(
                entry
            )
        units = {"v": {"labels": labels}}
    elif data_type == "img_group":
        half = objects // 2
        units = {
            "a": {"data_sequence": 3, "labels": {"objects": entries[:half]}},
            "b": {"data_sequence": "1", "labels": {"objects": entries[half:]}},
        }
    else:
        units = {"u": {"labels": {"objects": entries}}}
    answers = {
        e["objectHash"]: {"objectHash": e["objectHash"], "classifications": []} for e in entries
    }
    return {"data_units": units, "object_answers": answers}


def _walk(document: dict[str, Any], data_type: str) -> list[tuple[int, dict[str, Any]]]:
    return [
        (frame, entry)
        for unit in document["data_units"].values()
        for frame, labels in frame_entries(unit, data_type)
        for entry in labels.get("objects") or ()
    ]


@pytest.mark.parametrize("data_type", ["image", "img_group", "video"])
def test_a_copy_decodes_to_the_values_the_json_holds(data_type: str) -> None:
    rng = np.random.default_rng(3)
    documents = [_document(rng, data_type, int(n)) for n in (0, 1, 17, 40, 0, 5)]
    blobs = [encode_document(orjson.loads(orjson.dumps(d)), data_type) for d in documents]
    assert not any(needs_json(b) for b in blobs)
    got = decode_rows(blobs)
    walked = [(r, f, e) for r, d in enumerate(documents) for f, e in _walk(d, data_type)]
    assert got.counts.tolist() == [int(n) for n in (0, 1, 17, 40, 0, 5)]
    assert got.data_types == (data_type,) * len(documents)
    assert got.row.tolist() == [r for r, _, _ in walked]
    assert got.frame.tolist() == [f for _, f, _ in walked]
    assert [got.features[i] for i in got.feature] == [e["featureHash"] for _, _, e in walked]
    assert got.object_hashes == [e["objectHash"] for _, _, e in walked]
    for i, (_, _, entry) in enumerate(walked):
        confidence = entry.get("confidence")
        assert got.score[i] == (1.0 if confidence is None else confidence)
        geometry = entry.get("boundingBox") or entry.get("rotatableBoundingBox")
        bits = int(got.bits[i])
        assert bool(bits & BOX) == ("boundingBox" in entry)
        assert bool(bits & ROTATED) == ("rotatableBoundingBox" in entry)
        if geometry is not None:
            assert got.box[i].tolist() == [geometry[k] for k in "xywh"]
            assert got.theta[i] == geometry.get("theta", 0.0)
        assert bool(bits & COCO) == ("coco" in entry)
        area, crowd, bbox = coco_extras(entry)
        assert bool(bits & COCO_CROWD) == crowd
        assert bool(bits & COCO_AREA) == (area is not None)
        if area is not None:
            assert got.area[i] == area
        assert bool(bits & COCO_BBOX) == (bbox is not None)
        if bbox is not None:
            assert got.coco_bbox[i].tolist() == bbox


def test_columns_give_the_bytes_of_the_document_they_make() -> None:
    """What the COCO importer writes from its columns equals the copy of its JSON."""
    rng = np.random.default_rng(8)
    n = 50
    fhs = [f"f{int(i)}" for i in rng.integers(0, 5, n)]
    keys = [f"k{i:07d}" for i in range(n)]
    scores = rng.random(n).tolist()
    boxes = rng.random((n, 4))
    entries = [
        {
            "featureHash": fh,
            "objectHash": key,
            "confidence": score,
            "boundingBox": dict(zip("xywh", box.tolist(), strict=True)),
        }
        for fh, key, score, box in zip(fhs, keys, scores, boxes, strict=True)
    ]
    document = orjson.loads(orjson.dumps({"data_units": {"u": {"labels": {"objects": entries}}}}))
    joined = "\x00".join(keys).encode()
    hwxy = boxes[:, [3, 2, 0, 1]]
    made = encode_columns("image", np.zeros(n, np.int64), fhs, joined, scores, hwxy, BOX)
    assert made == encode_document(document, "image")
    assert made == encode_columns("image", None, fhs, keys, scores, hwxy.ravel().tolist(), BOX)


def _box_doc(**entry: Any) -> dict[str, Any]:
    base = {
        "featureHash": "f",
        "objectHash": "o",
        "boundingBox": {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4},
    }
    return {"data_units": {"u": {"labels": {"objects": [{**base, **entry}]}}}}


@pytest.mark.parametrize(
    "document",
    [
        {  # attribute answers: the JSON reader collects them for slicing
            **_box_doc(),
            "object_answers": {"o": {"classifications": [{"name": "a", "answers": "b"}]}},
        },
        {**_box_doc(), "object_answers": ["not", "a", "mapping"]},
        _box_doc(confidence=math.nan),  # JSON writes NaN as null
        _box_doc(confidence="high"),
        _box_doc(boundingBox={"x": True, "y": 0.2, "w": 0.3, "h": 0.4}),
        _box_doc(boundingBox={"x": "0.1", "y": 0.2, "w": 0.3, "h": 0.4}),
        _box_doc(boundingBox={"x": math.inf, "y": 0.2, "w": 0.3, "h": 0.4}),
        _box_doc(boundingBox={"x": 2**60, "y": 0.2, "w": 0.3, "h": 0.4}),
        _box_doc(boundingBox={"x": 0.1, "y": 0.2, "w": 0.3}),
        _box_doc(boundingBox=[0.1, 0.2, 0.3, 0.4]),
        _box_doc(rotatableBoundingBox={"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}),  # both
        _box_doc(objectHash="a\x00b"),
        _box_doc(featureHash=7),
        _box_doc(coco={"bbox": [1.0, math.nan, 2.0, 3.0]}),
        {"data_units": {"v": {"labels": {"x": {"objects": []}}}}},  # a frame that is no number
    ],
)
def test_what_the_copy_cannot_hold_exactly_goes_to_the_json(document: dict[str, Any]) -> None:
    data_type = "video" if "v" in document["data_units"] else "image"
    assert encode_document(document, data_type) == NEEDS_JSON
    assert needs_json(NEEDS_JSON)


def test_plain_values_that_json_keeps_are_copied() -> None:
    ints = _box_doc(boundingBox={"x": 0, "y": 1, "w": 2, "h": 3}, confidence=1)
    blob = encode_document(ints, "image")
    got = decode_rows([blob])
    assert got.box.tolist() == [[0.0, 1.0, 2.0, 3.0]] and got.score.tolist() == [1.0]
    empty = encode_document({}, "image")
    assert not needs_json(empty) and decode_rows([empty]).counts.tolist() == [0]


def test_missing_damaged_or_newer_copies_need_the_json() -> None:
    blob = encode_document(_box_doc(), "image")
    assert not needs_json(blob)
    assert needs_json(None) and needs_json(b"") and needs_json(blob[:5])
    assert needs_json(b"XX" + blob[2:]) and needs_json(blob[:2] + bytes([99]) + blob[3:])
