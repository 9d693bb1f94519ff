from __future__ import annotations

import numpy as np
import pycocotools.mask as coco_mask
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from predscope.exceptions import CoordinatesError
from predscope.objects.bitmask import (
    BitmaskCoordinates,
    coco_rle_to_rle_string,
    decode_rle_string,
    encode_rle_string,
    rle_string_to_coco_rle,
    rle_string_to_counts,
)

masks = st.tuples(st.integers(1, 40), st.integers(1, 40)).flatmap(lambda hw: arrays(np.bool_, hw))


def _coco(mask: np.ndarray) -> dict[str, object]:
    return coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))  # type: ignore[no-any-return]


@settings(max_examples=150, deadline=None)
@given(masks)
def test_rle_string_is_coco_counts_of_transpose(mask: np.ndarray) -> None:
    s = encode_rle_string(mask)
    assert s == _coco(mask.T)["counts"].decode()  # type: ignore[attr-defined]
    # Row-major runs: expanding the counts reproduces the C-order flattening.
    counts = rle_string_to_counts(s)
    flat = np.repeat(np.arange(counts.size) % 2, counts).astype(bool)
    assert np.array_equal(flat, mask.ravel(order="C"))


@settings(max_examples=150, deadline=None)
@given(masks)
def test_pixel_exact_round_trips(mask: np.ndarray) -> None:
    h, w = mask.shape
    s = encode_rle_string(mask)
    assert np.array_equal(decode_rle_string(s, h, w), mask)
    coco = _coco(mask)
    assert coco_rle_to_rle_string(coco) == (s, h, w)
    back = rle_string_to_coco_rle(s, h, w)
    assert back["counts"] == coco["counts"].decode()  # type: ignore[attr-defined]
    assert np.array_equal(coco_mask.decode({"size": [h, w], "counts": back["counts"]}), mask)


def test_uncompressed_coco_rle_matches_pycocotools() -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((17, 23)) < 0.4
    flat = mask.ravel(order="F").astype(np.int64)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0, *counts]
    rle = {"size": [17, 23], "counts": counts}
    expected = coco_mask.decode(coco_mask.frPyObjects(rle, 17, 23)).astype(bool)
    assert np.array_equal(expected, mask)
    bm = BitmaskCoordinates.from_coco_rle(rle)
    assert np.array_equal(bm.to_numpy_array(), mask)
    assert bm.to_coco_rle()["counts"] == _coco(mask)["counts"].decode()  # type: ignore[attr-defined]


def test_large_counts_and_sign_bits_decode() -> None:
    mask = np.zeros((1500, 2100), dtype=bool)
    mask[100:1300, 7:2000] = True
    mask[700, :] = False
    s = encode_rle_string(mask)
    assert np.array_equal(decode_rle_string(s, 1500, 2100), mask)


def test_bitmask_coordinates_from_array_and_dict() -> None:
    mask = np.zeros((4, 6), dtype=np.uint8)
    mask[1:3, 2:5] = 1
    bm = BitmaskCoordinates(mask)
    assert (bm.height, bm.width) == (4, 6)
    d = bm.to_dict()
    assert d["top"] == 0 and d["left"] == 0 and d["rleString"] == bm.rle_string
    again = BitmaskCoordinates.from_dict(d)
    assert again == bm
    assert BitmaskCoordinates(again) == bm
    assert np.array_equal(np.asarray(bm), mask.astype(bool))
    assert BitmaskCoordinates.from_dict({"bitmask": d}) == bm


def test_imported_rle_string_is_kept_verbatim() -> None:
    # Runs [2, 0, 1, 3] cover the same pixels as the canonical [3, 3]: keep the given string.
    odd = coco_mask.frPyObjects({"size": [6, 1], "counts": [2, 0, 1, 3]}, 6, 1)["counts"].decode()
    canonical = encode_rle_string(np.array([[0, 0, 0, 1, 1, 1]], dtype=bool))
    assert odd != canonical
    bm = BitmaskCoordinates({"top": 0, "left": 0, "height": 1, "width": 6, "rleString": odd})
    assert bm.to_dict()["rleString"] == odd
    assert np.array_equal(bm.to_numpy_array(), [[False, False, False, True, True, True]])


@pytest.mark.parametrize(
    ("source", "match"),
    [
        (np.zeros((2, 2, 2), dtype=bool), "2-D"),
        (np.zeros(5, dtype=bool), "2-D"),
        (np.array([[0, 2]]), "0/1"),
        ({"height": 3, "width": 3, "rleString": "0"}, "covers 0 pixels"),
        ({"height": 3, "width": 3, "rleString": "8"}, "covers 8 pixels"),
        ({"height": 2, "width": 3}, "missing"),
        ({"height": 0, "width": 3, "rleString": ""}, "positive"),
        ({"height": 1, "width": 1, "rleString": "1", "top": 5}, "top"),
        ({"height": 1, "width": 1, "rleString": "\u00e9"}, "ASCII"),
        ({"height": 1, "width": 1, "rleString": "1~"}, "outside"),
        ({"height": 1, "width": 1, "rleString": "P"}, "truncated"),
        ("not a mask", "cannot build"),
    ],
)
def test_bitmask_validation(source: object, match: str) -> None:
    with pytest.raises(CoordinatesError, match=match):
        BitmaskCoordinates(source)


@pytest.mark.parametrize(
    "rle",
    [
        {"size": [2, 2], "counts": [1, 1]},
        {"size": [2, 2], "counts": [1, -1, 4]},
        {"size": [2], "counts": [4]},
        {"size": [2, 2], "counts": 4},
    ],
)
def test_coco_rle_validation(rle: dict[str, object]) -> None:
    with pytest.raises(CoordinatesError):
        BitmaskCoordinates.from_coco_rle(rle)


def test_bitmask_is_immutable() -> None:
    bm = BitmaskCoordinates(np.ones((2, 2), dtype=bool))
    with pytest.raises(AttributeError):
        bm.height = 3  # type: ignore[misc]
