"""Object and image properties against direct per-object / per-pixel definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from predscope.evaluation.properties import (
    image_quality,
    image_quality_batch,
    laplacian_variance,
    object_properties,
    objects_per_image,
)
from predscope.exceptions import EvaluationError

IMAGES = Path(__file__).resolve().parents[2] / "data" / "skimage-images" / "images"


def test_object_properties_equal_the_definition() -> None:
    rng = np.random.default_rng(0)
    sizes = np.array([[640.0, 480.0], [100.0, 300.0], [50.0, 50.0]])
    n = 200
    image = rng.integers(0, 3, n)
    box = np.column_stack(
        [
            rng.uniform(-10, 90, n),
            rng.uniform(-10, 90, n),
            rng.uniform(0, 60, n),
            rng.uniform(0, 60, n),
        ]
    )
    box[0, 3] = 0.0
    props = object_properties(box, image, sizes)
    for i in range(n):
        x, y, w, h = box[i]
        width, height = sizes[image[i]]
        border = max(0.0, min(x, y, width - x - w, height - y - h))
        assert props.area_px[i] == w * h
        assert props.area_share[i] == pytest.approx(w * h / (width * height), rel=1e-15)
        assert props.border_distance_px[i] == pytest.approx(border, abs=1e-12)
        assert props.border_distance_share[i] == pytest.approx(border / min(width, height))
        assert props.objects_in_image[i] == int(np.sum(image == image[i]))
        if h > 0:
            assert props.aspect_ratio[i] == pytest.approx(w / h)
    assert np.isnan(props.aspect_ratio[0])
    assert objects_per_image(image, 3).tolist() == [int(np.sum(image == k)) for k in range(3)]
    stored = object_properties(box, image, sizes, area=np.full(n, 7.0))
    assert np.all(stored.area_px == 7.0)
    with pytest.raises(EvaluationError, match="image index"):
        object_properties(box, image + 3, sizes)


def _direct_laplacian_variance(g: np.ndarray) -> float:
    h, w = g.shape

    def at(r: int, c: int) -> float:
        r = -r if r < 0 else (2 * (h - 1) - r if r >= h else r)  # reflect-101
        c = -c if c < 0 else (2 * (w - 1) - c if c >= w else c)
        return float(g[r, c])

    lap = [
        at(r - 1, c) + at(r + 1, c) + at(r, c - 1) + at(r, c + 1) - 4 * at(r, c)
        for r in range(h)
        for c in range(w)
    ]
    mean = sum(lap) / len(lap)
    return sum((v - mean) ** 2 for v in lap) / len(lap)


def test_image_quality_equals_the_definition_per_pixel() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    q = image_quality(rgb)
    values = rgb.astype(float).ravel() / 255
    assert q.brightness == pytest.approx(values.mean(), rel=1e-12)
    assert q.contrast == pytest.approx(values.std(), rel=1e-12)
    grey = (rgb.astype(float) / 255) @ np.array([0.299, 0.587, 0.114])
    assert q.sharpness == pytest.approx(_direct_laplacian_variance(grey), rel=1e-10)
    flat = np.full((5, 5), 128, dtype=np.uint8)
    assert image_quality(flat).sharpness == 0.0 and image_quality(flat).contrast == 0.0
    rgba = np.concatenate([rgb, np.zeros((9, 13, 1), np.uint8)], axis=2)
    assert image_quality(rgba) == q
    assert laplacian_variance(np.zeros((1, 5))) == 0.0
    with pytest.raises(EvaluationError, match="shape"):
        image_quality(np.zeros((3, 3, 2)))


def test_real_image_blur_lowers_sharpness_and_inversion_mirrors_brightness() -> None:
    path = sorted(p for p in IMAGES.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[0]
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        blurred = rgb.filter(ImageFilter.GaussianBlur(3))
    a, b = np.asarray(rgb), np.asarray(blurred)
    qa, qb = image_quality(a), image_quality(b)
    assert qb.sharpness < qa.sharpness / 4
    inv = image_quality(255 - a)
    assert inv.brightness == pytest.approx(1 - qa.brightness, abs=1e-12)
    assert inv.contrast == pytest.approx(qa.contrast, abs=1e-12)
    bright, contrast, sharp = image_quality_batch([a, b])
    assert bright.tolist() == [qa.brightness, qb.brightness]
    assert sharp[1] < sharp[0] and contrast.shape == (2,)
