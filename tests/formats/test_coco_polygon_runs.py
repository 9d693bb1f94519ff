"""Polygon -> bitmask without a full-frame mask: row-major runs from pycocotools column runs."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as coco_mask
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from predscope.formats.coco_geometry import (
    _column_runs_to_row_runs,
    coco_polygon_to_bitmask,
    coco_polygon_to_polygon,
)
from predscope.objects.bitmask import rle_string_to_counts


def _row_runs(mask: np.ndarray) -> list[int]:
    """Reference: canonical runs of the C-order flattening (zeros first, no empty tail)."""
    flat = mask.ravel(order="C").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(edges).tolist()
    return [0, *runs] if flat[0] else runs


def _column_counts(mask: np.ndarray) -> np.ndarray:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return rle_string_to_counts(encoded["counts"].decode("ascii"))


@settings(max_examples=300, deadline=None)
@given(
    arrays(
        np.bool_,
        st.tuples(st.integers(1, 9), st.integers(1, 9)),
        elements=st.booleans(),
    )
)
def test_column_runs_become_the_row_major_runs(mask: np.ndarray) -> None:
    height, width = mask.shape
    got = _column_runs_to_row_runs(_column_counts(mask), height, width)
    assert got == _row_runs(mask)


@pytest.mark.parametrize(
    "fill",
    [
        lambda m: None,  # empty
        lambda m: m.fill(True),  # full frame
        lambda m: m.__setitem__((slice(None), slice(2, 5)), True),  # runs wrap across columns
        lambda m: m.__setitem__((-1, -1), True),  # only the last pixel
        lambda m: m.__setitem__((0, 0), True),  # only the first pixel
        lambda m: m.__setitem__((slice(3, None), slice(None)), True),  # bottom rows, full width
    ],
)
def test_edge_masks(fill: object) -> None:
    mask = np.zeros((6, 7), dtype=np.bool_)
    fill(mask)  # type: ignore[operator]
    assert _column_runs_to_row_runs(_column_counts(mask), 6, 7) == _row_runs(mask)


def _reference_pixels(segmentation: list[list[float]], width: int, height: int) -> np.ndarray:
    """Each clipped part rasterised by pycocotools and decoded, then their union."""
    polygon, _ = coco_polygon_to_polygon(segmentation, width, height)
    mask = np.zeros((height, width), dtype=np.bool_)
    for rings in polygon.polygons:
        flat = [v * size for p in rings[0] for v, size in ((p.x, width), (p.y, height))]
        mask |= coco_mask.decode(coco_mask.frPyObjects([flat], height, width))[:, :, 0] > 0
    return mask


@pytest.mark.parametrize(
    "segmentation",
    [
        [[10.5, 3.2, 40.0, 3.2, 52.7, 20.0, 40.0, 38.9, 10.5, 38.9, 2.0, 20.0]],
        [[-5.0, -5.0, 70.0, -5.0, 70.0, 50.0, -5.0, 50.0]],  # clipped to the whole frame
        [[0.0, 30.0, 63.0, 30.0, 63.0, 47.0, 0.0, 47.0]],  # bottom edge, full width
        [[5, 5, 20, 5, 20, 20], [15, 10, 40, 10, 40, 30, 15, 30]],  # overlapping parts
        [[1, 1, 3, 1, 3, 3, 1, 3], [50, 40, 60, 40, 60, 46, 50, 46]],  # far apart
    ],
)
def test_polygon_bitmask_is_pixel_exact(segmentation: list[list[float]]) -> None:
    width, height = 64, 48
    bitmask = coco_polygon_to_bitmask(segmentation, width, height)
    assert (bitmask.height, bitmask.width) == (height, width)
    expected = _reference_pixels(segmentation, width, height)
    assert expected.any()
    np.testing.assert_array_equal(bitmask.to_numpy_array(), expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-10, 70), st.floats(-10, 60), st.floats(3, 40), st.floats(3, 40)),
        min_size=1,
        max_size=3,
    )
)
def test_random_boxes_as_polygons_are_pixel_exact(
    boxes: list[tuple[float, float, float, float]],
) -> None:
    width, height = 50, 37
    parts = []
    for x, y, w, h in boxes:
        x0, y0 = min(max(x, 0.0), width - 3.0), min(max(y, 0.0), height - 3.0)
        parts.append([x0, y0, x0 + w, y0, x0 + w * 0.5, y0 + h])
    bitmask = coco_polygon_to_bitmask(parts, width, height)
    np.testing.assert_array_equal(bitmask.to_numpy_array(), _reference_pixels(parts, width, height))
