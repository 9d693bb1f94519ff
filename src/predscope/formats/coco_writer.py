"""COCO output: one object's coordinates as COCO fields, and the dataset / results containers.

Results follow pycocotools' ``loadRes`` rules, so an exported file evaluates as the original did:
box objects give ``bbox`` only, mask and polygon objects give an RLE ``segmentation`` only (a result
with both would be read as a box). Ground truth keeps what the importer stored under the per-frame
entry's ``coco`` key (``bbox``, ``area``, ``iscrowd``, ``id``), so exported GT is the imported GT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from predscope.formats.coco_geometry import (
    box_to_coco_bbox,
    polygon_has_holes,
    polygon_to_coco_rle,
    polygon_to_coco_segmentation,
    segmentation_area_bbox,
    skeleton_to_coco_keypoints,
)
from predscope.formats.json_text import encode_indented
from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PolygonCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinates,
)

__all__ = [
    "ExportCategory",
    "ExportImage",
    "IouType",
    "box_fields",
    "coco_fields",
    "dataset_dict",
    "export_frame",
    "write_coco_json",
    "write_json_items",
]

IouType = Literal["auto", "bbox", "segm"]


@dataclass(frozen=True, slots=True)
class ExportImage:
    id: int | str
    file_name: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ExportCategory:
    id: int | str
    name: str
    supercategory: str = ""
    keypoints: tuple[str, ...] | None = None
    skeleton: tuple[tuple[int, int], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "supercategory": self.supercategory,
        }
        if self.keypoints is not None:
            out["keypoints"] = list(self.keypoints)
            out["skeleton"] = [list(edge) for edge in self.skeleton or ()]
        return out


def _box_polygon(bbox: Sequence[float]) -> list[list[float]]:
    x, y, w, h = bbox
    return [[x, y, x, y + h, x + w, y + h, x + w, y]]


def _extents(points: Sequence[tuple[float, float]]) -> list[float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _mask_fields(
    coords: PolygonCoordinates | BitmaskCoordinates, width: int, height: int, results: bool
) -> tuple[Any, list[float], float]:
    """(segmentation, bbox, area) of a polygon or mask; results always get an RLE."""
    if isinstance(coords, BitmaskCoordinates):
        segmentation: Any = coords.to_coco_rle()
    elif results or polygon_has_holes(coords):
        segmentation = polygon_to_coco_rle(coords, width, height)
    else:
        segmentation = polygon_to_coco_segmentation(coords, width, height)
    area, bbox = segmentation_area_bbox(segmentation, width, height)
    if isinstance(coords, PolygonCoordinates):
        pts = [(p.x * width, p.y * height) for poly in coords.polygons for p in poly[0]]
        bbox = _extents(pts)
    return segmentation, bbox, area


def coco_fields(
    coords: Any,
    width: int,
    height: int,
    *,
    results: bool,
    iou_type: IouType = "auto",
    stored: Mapping[str, Any] | None = None,
    keypoint_names: Sequence[str] | None = None,
) -> dict[str, Any] | None:
    """The COCO geometry fields of one object, or None for shapes COCO cannot hold.

    ``stored`` is the ``coco`` dict the importer kept on ground truth; its ``bbox``, ``area`` and
    ``iscrowd`` win over recomputed values so that exported GT equals the imported file.
    """
    stored = stored or {}
    out: dict[str, Any]
    if isinstance(coords, BoundingBoxCoordinates | RotatableBoundingBoxCoordinates):
        plain = BoundingBoxCoordinates(
            coords.height, coords.width, coords.top_left_x, coords.top_left_y
        )
        bbox = box_to_coco_bbox(plain, width, height)
        theta = coords.theta if isinstance(coords, RotatableBoundingBoxCoordinates) else None
        return box_fields(bbox, results=results, stored=stored, rotation=theta)
    if isinstance(coords, PolygonCoordinates | BitmaskCoordinates):
        segmentation, bbox, area = _mask_fields(coords, width, height, results)
        if results and iou_type == "bbox":
            out = {"bbox": bbox}
        elif results:
            out = {"segmentation": segmentation}
        else:
            out = {"segmentation": segmentation, "bbox": bbox, "area": area}
    elif isinstance(coords, SkeletonCoordinates):
        keypoints, labelled = skeleton_to_coco_keypoints(coords, width, height, keypoint_names)
        seen = [
            (keypoints[k], keypoints[k + 1])
            for k in range(0, len(keypoints), 3)
            if keypoints[k + 2]
        ]
        bbox = _extents(seen) if seen else [0.0, 0.0, 0.0, 0.0]
        out = {"keypoints": keypoints, "num_keypoints": labelled, "bbox": bbox}
        if not results:
            out["area"] = bbox[2] * bbox[3]
    else:
        return None
    if results and iou_type == "bbox" and "bbox" not in out:
        return None
    if not results:
        # Masks and polygons take the file's own bbox back.
        for key in ("bbox", "area"):
            if key in stored:
                out[key] = stored[key]
        out["iscrowd"] = int(stored.get("iscrowd", 0))
    return out


def box_fields(
    bbox: list[float],
    *,
    results: bool,
    stored: Mapping[str, Any] | None = None,
    rotation: float | None = None,
) -> dict[str, Any]:
    """``coco_fields`` of a box whose pixel ``bbox`` is known (``box_to_coco_bbox``, or
    ``coco_pixels.box_bboxes`` for a batch). A box's geometry is its bbox: of ``stored`` only
    ``area`` and ``iscrowd`` come back."""
    out: dict[str, Any] = {"bbox": bbox}
    if rotation is not None:
        out["rotation"] = rotation
    if results:
        return out
    out["segmentation"] = _box_polygon(bbox)
    out["area"] = bbox[2] * bbox[3]
    if stored:
        if "area" in stored:
            out["area"] = stored["area"]
        out["iscrowd"] = int(stored.get("iscrowd", 0))
    else:
        out["iscrowd"] = 0
    return out


def dataset_dict(
    images: Sequence[ExportImage],
    categories: Sequence[ExportCategory],
    annotations: list[dict[str, Any]],
    description: str = "",
) -> dict[str, Any]:
    """A COCO dataset dict (``info``, ``licenses``, ``images``, ``annotations``, ``categories``)."""
    return {
        "info": {"description": description, "version": "1.0", "contributor": "predscope"},
        "licenses": [],
        "images": [
            {"id": im.id, "file_name": im.file_name, "width": im.width, "height": im.height}
            for im in images
        ],
        "annotations": annotations,
        "categories": [c.to_dict() for c in categories],
    }


def write_coco_json(payload: dict[str, Any] | list[dict[str, Any]], path: str | Path) -> None:
    """Write a dataset or results list as compact JSON."""
    Path(path).write_bytes(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY))


def export_frame(
    results: bool,
    images: Sequence[ExportImage],
    categories: Sequence[ExportCategory],
    description: str = "",
    *,
    indent: bool = False,
) -> tuple[bytes, bytes]:
    """The bytes before and after the annotation list of an export written as it goes.

    ``head + <write_json_items(...)> + tail`` equals ``orjson.dumps`` of the whole dataset dict or
    results list (``indent``: ``json.dumps(..., indent=2, ensure_ascii=False)``).
    """
    if results:
        return b"", b""
    frame = dataset_dict(images, categories, [], description)
    before = {k: frame[k] for k in ("info", "licenses", "images")}
    if not indent:
        head = orjson.dumps(before, option=orjson.OPT_SERIALIZE_NUMPY)[:-1] + b',"annotations":'
        tail = b',"categories":' + orjson.dumps(frame["categories"]) + b"}"
        return head, tail
    parts = [f'\n  "{key}": {encode_indented(value, 1)},' for key, value in before.items()]
    text_head = "{" + "".join(parts) + '\n  "annotations": '
    text_tail = ',\n  "categories": ' + encode_indented(frame["categories"], 1) + "\n}"
    return text_head.encode(), text_tail.encode()


def write_json_items(
    items: Iterable[Any], out: IO[bytes], *, indent: bool = False, level: int = 0
) -> int:
    """Write ``items`` as one JSON array (compact, or indented as if ``level`` deep); the count.

    Each item is encoded on its own and written with the next few hundred, so only those are
    held at a time.
    """
    count = 0
    if not indent:
        held: list[Any] = []
        for item in items:
            held.append(item)
            count += 1
            if len(held) == _CHUNK:  # compact orjson of a list: its items joined by ","
                text = orjson.dumps(held, option=orjson.OPT_SERIALIZE_NUMPY)
                out.write((b"," if count > _CHUNK else b"[") + text[1:-1])
                held.clear()
        if held:
            text = orjson.dumps(held, option=orjson.OPT_SERIALIZE_NUMPY)
            out.write((b"," if count > len(held) else b"[") + text[1:-1])
        out.write(b"]" if count else b"[]")
        return count
    parts: list[bytes] = []
    pad = "\n" + "  " * (level + 1)
    for item in items:
        parts.append(((("," if count else "[") + pad) + encode_indented(item, level + 1)).encode())
        count += 1
        if len(parts) == _CHUNK:
            out.write(b"".join(parts))
            parts.clear()
    out.write(b"".join(parts))
    out.write(("\n" + "  " * level + "]" if count else "[]").encode())
    return count


_CHUNK = 512  # items per write
