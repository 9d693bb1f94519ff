"""Object and image properties, so users see where a model fails (Encord Active's data and label
quality metrics, re-defined here; docs/metrics.md "Properties").

Object properties come from the axis-aligned extent ``[x, y, w, h]`` (pixels) and the image size;
image properties from the decoded pixels. All vectorised; no file is read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation.inputs import FloatArray, IntArray
from predscope.exceptions import EvaluationError

# ITU-R BT.601 luma, the grey level OpenCV and Pillow use
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True, eq=False)
class ObjectProperties:
    """One value per object (input order); NaN where undefined (e.g. aspect ratio of h = 0)."""

    area_px: FloatArray
    area_share: FloatArray
    aspect_ratio: FloatArray
    border_distance_px: FloatArray
    border_distance_share: FloatArray
    objects_in_image: IntArray

    def as_dict(self) -> dict[str, NDArray[np.generic]]:
        return {
            "area_px": self.area_px,
            "area_share": self.area_share,
            "aspect_ratio": self.aspect_ratio,
            "border_distance_px": self.border_distance_px,
            "border_distance_share": self.border_distance_share,
            "objects_in_image": self.objects_in_image,
        }


def objects_per_image(image: IntArray, num_images: int) -> IntArray:
    """How many objects each image holds."""
    img = np.asarray(image, dtype=np.int64)
    if img.size and (img.min() < 0 or img.max() >= num_images):
        raise EvaluationError(f"objects_per_image: an image index is outside 0..{num_images - 1}")
    counts: IntArray = np.bincount(img, minlength=num_images).astype(np.int64)
    return counts


def object_properties(
    bbox: FloatArray,
    image: IntArray,
    image_size: FloatArray,
    area: FloatArray | None = None,
) -> ObjectProperties:
    """Area (``area`` if given, else w*h), its share of the image, w/h, distance to the nearest
    image border (0 when the box touches or crosses it) in pixels and as a share of the image's
    shorter side, and the number of objects in the object's image.
    """
    box = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    img = np.asarray(image, dtype=np.int64).reshape(-1)
    size = np.asarray(image_size, dtype=np.float64).reshape(-1, 2)
    if img.shape[0] != box.shape[0]:
        raise EvaluationError(
            f"object_properties: {box.shape[0]} boxes but {img.shape[0]} image indices"
        )
    if np.any(~(size > 0)):
        raise EvaluationError("object_properties: image_size needs positive (width, height) rows")
    counts = objects_per_image(img, size.shape[0])
    x, y, w, h = box.T
    width, height = size[img, 0], size[img, 1]
    a = w * h if area is None else np.asarray(area, dtype=np.float64).reshape(-1)
    if a.shape[0] != box.shape[0]:
        raise EvaluationError(f"object_properties: {box.shape[0]} boxes but {a.shape[0]} areas")
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.where(h > 0, w / h, np.nan)
    border = np.maximum(0.0, np.minimum.reduce([x, y, width - (x + w), height - (y + h)]))
    return ObjectProperties(
        area_px=a,
        area_share=a / (width * height),
        aspect_ratio=aspect,
        border_distance_px=border,
        border_distance_share=border / np.minimum(width, height),
        objects_in_image=counts[img],
    )


@dataclass(frozen=True)
class ImageQuality:
    """Brightness and contrast in [0, 1] units; sharpness = variance of the Laplacian of the grey
    image (in the same units, so a flat image has 0)."""

    brightness: float
    contrast: float
    sharpness: float


def _normalised(pixels: NDArray[np.generic]) -> FloatArray:
    arr = np.asarray(pixels)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]  # alpha is not brightness
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3))):
        raise EvaluationError(
            f"image_quality: pixels of shape {arr.shape} - give (H, W), (H, W, 3) or (H, W, 4)"
        )
    if arr.size == 0:
        raise EvaluationError("image_quality: the image has no pixels")
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        out: FloatArray = arr.astype(np.float64) / float(info.max)
        return out
    out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise EvaluationError("image_quality: pixels contain NaN or infinity")
    return out


def laplacian_variance(grey: FloatArray) -> float:
    """Variance of the 4-neighbour Laplacian [[0,1,0],[1,-4,1],[0,1,0]], mirrored borders
    (OpenCV's default BORDER_REFLECT_101); 0 for images under 2 pixels on a side."""
    if grey.shape[0] < 2 or grey.shape[1] < 2:
        return 0.0
    p = np.pad(grey, 1, mode="reflect")
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4.0 * grey
    return float(np.var(lap))


def image_quality(pixels: NDArray[np.generic]) -> ImageQuality:
    """Brightness (mean of all channel values), contrast (their standard deviation) and
    sharpness of one image; integer pixels are scaled by their type's maximum (255 for uint8),
    float pixels are taken as already in [0, 1]."""
    arr = _normalised(pixels)
    grey = arr if arr.ndim == 2 else (arr[:, :, 0] if arr.shape[2] == 1 else arr @ _LUMA)
    return ImageQuality(
        brightness=float(np.mean(arr)),
        contrast=float(np.std(arr)),
        sharpness=laplacian_variance(grey),
    )


def image_quality_batch(images: Sequence[NDArray[np.generic]]) -> tuple[FloatArray, ...]:
    """(brightness, contrast, sharpness) arrays for a list of images."""
    rows = [image_quality(im) for im in images]
    return (
        np.array([r.brightness for r in rows], dtype=np.float64),
        np.array([r.contrast for r in rows], dtype=np.float64),
        np.array([r.sharpness for r in rows], dtype=np.float64),
    )
