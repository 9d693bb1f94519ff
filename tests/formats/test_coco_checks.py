"""``formats.coco_checks``: the normalised-box count the importer and ``predscope eval`` share."""

from __future__ import annotations

import numpy as np

from predscope.formats.coco_checks import normalised_box_warning, unit_square_count


def test_one_pixel_sized_box_does_not_hide_the_normalised_rest() -> None:
    boxes = np.array([[0.1, 0.1, 0.2, 0.2]] * 9 + [[1.5, 0.1, 0.2, 0.2]])
    sizes = np.full(10, 640.0)
    count = unit_square_count(boxes, sizes, sizes)
    assert count == 9
    warning = normalised_box_warning(count, 10)
    assert warning is not None and warning.startswith("9 of 10 boxes fit in the unit square")


def test_tiny_images_and_minorities_do_not_warn() -> None:
    boxes = np.array([[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.4, 0.4]])
    assert unit_square_count(boxes, np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0
    assert normalised_box_warning(1, 2) is None  # half is not most
    assert normalised_box_warning(0, 0) is None
    assert unit_square_count(np.zeros((0, 4)), np.zeros(0), np.zeros(0)) == 0
