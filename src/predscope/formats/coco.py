"""COCO files -> evaluation inputs, following pycocotools' ``COCO`` / ``loadRes`` rules.

* Ground truth: images and categories in ascending id order (pycocotools' order); ``area`` is
  taken from the file and never recomputed; polygons and uncompressed RLE are rasterised with
  ``pycocotools.mask`` exactly as ``annToRLE`` does.
* Results: the branch is chosen by the first record, as ``loadRes`` does. bbox results get area
  w*h (a segmentation, if present, is kept as the mask, else the box polygon); segmentation
  results get the RLE area and ``toBbox`` when the box is missing; keypoint results get the
  area and box of the keypoint extent. Unknown categories are kept as -1 (pycocotools drops
  them); unknown images are an error.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pycocotools import mask as mask_utils

from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, RleMasks
from predscope.evaluation.iou import mask_area_and_bbox
from predscope.evaluation.params import CocoIouType as IouType
from predscope.exceptions import ImportFormatError
from predscope.formats.coco_checks import normalised_box_warning, unit_square_count
from predscope.formats.coco_reader import (
    CocoAnnotations,
    CocoFile,
    CocoRle,
    Segmentation,
    index_of,
    read_coco_file,
    sorted_order,
)

__all__ = [
    "ground_truth_inputs",
    "detection_inputs",
    "load_coco_pair",
    "read_coco_file",
]


def _id_at(ids: object, i: int) -> object:
    value = ids[i]  # type: ignore[index]
    return int(value) if isinstance(value, np.integer) else value


def _loc(prefix: str, i: int, field: str) -> str:
    return f"{prefix}[{i}].{field}" if prefix else f"[{i}].{field}"


def _to_rle(source: str, where: str, seg: Segmentation | None, h: int, w: int) -> dict[str, object]:
    """One annotation's mask as compressed RLE, the way ``COCO.annToRLE`` builds it."""
    if seg is None:
        raise ImportFormatError(source, where, "missing", "segm evaluation needs a segmentation")
    if isinstance(seg, CocoRle):
        if isinstance(seg.counts, str):
            return {"size": list(seg.size), "counts": seg.counts}
        if len(seg.size) != 2:
            raise ImportFormatError(source, where + ".size", "must be [height, width]")
        rle: dict[str, object] = mask_utils.frPyObjects(
            {"size": list(seg.size), "counts": list(seg.counts)}, seg.size[0], seg.size[1]
        )
        return rle
    if h < 0 or w < 0:
        raise ImportFormatError(
            source,
            where,
            "polygon on an image without width/height",
            "add width and height to the image record",
        )
    if not seg or any(len(p) < 4 for p in seg):
        raise ImportFormatError(source, where, "polygon with fewer than 2 points")
    merged: dict[str, object] = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    return merged


def _masks(rles: list[dict[str, object]]) -> RleMasks:
    size = np.array([r["size"] for r in rles], dtype=np.int64).reshape(-1, 2)
    return RleMasks(size=size, counts=tuple(r["counts"] for r in rles))  # type: ignore[misc]


def _keypoints(
    source: str, prefix: str, kps: tuple[list[float] | None, ...] | None
) -> NDArray[np.float64]:
    if kps is None or not kps:
        return np.zeros((0, 0, 3), dtype=np.float64)
    width = len(kps[0] or [])
    for i, k in enumerate(kps):
        if k is None or len(k) != width or width % 3:
            raise ImportFormatError(
                source,
                _loc(prefix, i, "keypoints"),
                "missing or of a different length than the first annotation's",
                "give [x1, y1, v1, x2, y2, v2, ...] with the same keypoints for every record",
            )
    return np.array(kps, dtype=np.float64).reshape(len(kps), width // 3, 3)


def ground_truth_inputs(gt_file: CocoFile, iou_type: IouType = "bbox") -> CocoGroundTruth:
    """Ground-truth columns of a COCO dataset file."""
    src = gt_file.source
    if gt_file.kind != "dataset" or gt_file.images is None or gt_file.categories is None:
        raise ImportFormatError(
            src,
            "",
            "is a results list, not a COCO dataset",
            "ground truth needs `images`, `categories` and `annotations`",
        )
    images, cats, ann = gt_file.images, gt_file.categories, gt_file.annotations
    img_order = sorted_order(src, "images", images.ids)
    cat_order = sorted_order(src, "categories", cats.ids)
    img_rank = np.empty(img_order.size, dtype=np.int64)
    img_rank[img_order] = np.arange(img_order.size)
    cat_rank = np.empty(cat_order.size, dtype=np.int64)
    cat_rank[cat_order] = np.arange(cat_order.size)
    img_pos = index_of(src, "annotations", "image_id", ann.image_id, images.ids)
    cat_pos = index_of(src, "annotations", "category_id", ann.category_id, cats.ids)
    for pos, field, ids in (
        (img_pos, "image_id", ann.image_id),
        (cat_pos, "category_id", ann.category_id),
    ):
        if np.any(pos < 0):
            i = int(np.flatnonzero(pos < 0)[0])
            raise ImportFormatError(
                src,
                f"annotations[{i}].{field}",
                f"{_id_at(ids, i)!r} is not declared",
                f"add it to `{'images' if field == 'image_id' else 'categories'}` or fix the id",
            )
    if np.any(np.isnan(ann.area)):
        i = int(np.flatnonzero(np.isnan(ann.area))[0])
        raise ImportFormatError(src, f"annotations[{i}].area", "missing", "COCO GT needs `area`")
    if iou_type != "segm" and not ann.has_bbox.all():
        i = int(np.flatnonzero(~ann.has_bbox)[0])
        raise ImportFormatError(src, f"annotations[{i}].bbox", "missing or empty")
    masks = None
    if iou_type == "segm":
        if ann.segmentation is None:
            raise ImportFormatError(src, "annotations", "segmentations were not read")
        masks = _gt_masks(src, ann.segmentation, images.height[img_pos], images.width[img_pos])
    kp = num_kp = None
    if iou_type == "keypoints":
        kp = _keypoints(src, "annotations", ann.keypoints)
        num_kp = ann.num_keypoints if ann.num_keypoints is not None else np.full(len(ann), -1)
        derived = np.count_nonzero(kp[:, :, 2] > 0, axis=1) if len(ann) else num_kp
        num_kp = np.where(num_kp < 0, derived, num_kp)
    zero = np.array([type(v) is int and v == 0 for v in ann.ids], dtype=np.bool_)
    return CocoGroundTruth(
        num_images=img_order.size,
        category_ids=tuple(cats.ids[i] for i in cat_order),
        category_names=tuple(cats.names[i] for i in cat_order),
        image_ids=tuple(images.ids[i] for i in img_order),
        image=img_rank[img_pos],
        category=cat_rank[cat_pos],
        bbox=np.where(ann.has_bbox[:, None], ann.bbox, 0.0),
        area=ann.area,
        iscrowd=ann.iscrowd,
        zero_id=zero,
        masks=masks,
        keypoints=kp,
        num_keypoints=num_kp,
        annotation_ids=ann.ids,
    )


def _result_branch(src: str, ann: CocoAnnotations) -> str:
    if ann.has_bbox[0]:
        return "bbox"
    if ann.segmentation is not None and ann.segmentation[0] is not None:
        return "segm"
    if ann.keypoints is not None and ann.keypoints[0] is not None:
        return "keypoints"
    raise ImportFormatError(
        src,
        _loc("", 0, "bbox"),
        "the first result has no bbox, segmentation or keypoints",
        "each result needs `bbox`, `segmentation` (RLE) or `keypoints`",
    )


def detection_inputs(
    dt_file: CocoFile,
    gt: CocoGroundTruth,
    gt_image_size: NDArray[np.int64] | None = None,
    iou_type: IouType = "bbox",
) -> CocoDetections:
    """Detections of a results list (or a dataset whose annotations carry scores).

    ``gt_image_size`` is [num_images, 2] (height, width) in the GT's image order; it is only
    needed to rasterise polygons for segm evaluation.
    """
    src = dt_file.source
    ann = dt_file.annotations
    prefix = "annotations" if dt_file.kind == "dataset" else ""
    n = len(ann)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CocoDetections(
            image=empty,
            category=empty,
            bbox=np.zeros((0, 4)),
            area=np.zeros(0),
            score=np.zeros(0),
            masks=RleMasks(np.zeros((0, 2), np.int64), ()),
            keypoints=np.zeros((0, 0, 3)) if iou_type == "keypoints" else None,
        )
    image = index_of(src, prefix, "image_id", ann.image_id, gt.image_ids)
    if np.any(image < 0):
        i = int(np.flatnonzero(image < 0)[0])
        raise ImportFormatError(
            src,
            _loc(prefix, i, "image_id"),
            f"{_id_at(ann.image_id, i)!r} is not an image of the ground truth",
            "results must refer to ground-truth images (same id and id type)",
        )
    category = index_of(src, prefix, "category_id", ann.category_id, gt.category_ids)
    if np.any(np.isnan(ann.score)):
        i = int(np.flatnonzero(np.isnan(ann.score))[0])
        raise ImportFormatError(
            src, _loc(prefix, i, "score"), "missing", "every result needs a score"
        )
    branch = _result_branch(src, ann)
    bbox = ann.bbox
    masks = None
    keypoints = None
    if branch == "bbox":
        if not ann.has_bbox.all():
            i = int(np.flatnonzero(~ann.has_bbox)[0])
            raise ImportFormatError(
                src,
                _loc(prefix, i, "bbox"),
                "missing",
                "the first result has a bbox, so every result needs one",
            )
        area = bbox[:, 2] * bbox[:, 3]
        if iou_type == "segm":
            masks = _masks(
                [_det_mask(src, prefix, i, ann, gt_image_size, image[i]) for i in range(n)]
            )
    elif branch == "segm":
        masks = _result_masks(src, prefix, ann, gt_image_size, image)
        area, mask_box = mask_area_and_bbox(masks)
        if not ann.has_bbox.all():
            bbox = np.where(ann.has_bbox[:, None], bbox, mask_box)
    else:
        keypoints = _keypoints(src, prefix, ann.keypoints)
        xs, ys = keypoints[:, :, 0], keypoints[:, :, 1]
        x0, x1, y0, y1 = xs.min(axis=1), xs.max(axis=1), ys.min(axis=1), ys.max(axis=1)
        area = (x1 - x0) * (y1 - y0)
        bbox = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
    if iou_type == "keypoints" and keypoints is None:
        keypoints = _keypoints(src, prefix, ann.keypoints)
    return CocoDetections(
        image=image,
        category=category,
        bbox=bbox,
        area=area,
        score=ann.score,
        masks=masks,
        keypoints=keypoints,
    )


def _gt_masks(
    src: str,
    segs: tuple[Segmentation | None, ...],
    heights: NDArray[np.int64],
    widths: NDArray[np.int64],
) -> RleMasks:
    """GT masks; single polygons are rasterised in batches per image size (same result)."""
    n = len(segs)
    size = np.zeros((n, 2), dtype=np.int64)
    counts: list[bytes | str] = [b""] * n
    batches: dict[tuple[int, int], list[int]] = {}
    for i, seg in enumerate(segs):
        h, w = int(heights[i]), int(widths[i])
        if isinstance(seg, list) and len(seg) == 1 and len(seg[0]) > 4 and h >= 0 and w >= 0:
            batches.setdefault((h, w), []).append(i)
            continue
        rle = _to_rle(src, f"annotations[{i}].segmentation", seg, h, w)
        size[i] = rle["size"]  # type: ignore[call-overload]
        counts[i] = rle["counts"]  # type: ignore[call-overload]
    for (h, w), rows in batches.items():
        polys = [segs[i][0] for i in rows]  # type: ignore[index]
        for i, rle in zip(rows, mask_utils.frPyObjects(polys, h, w), strict=True):
            size[i] = rle["size"]
            counts[i] = rle["counts"]
    return RleMasks(size=size, counts=tuple(counts))


def _result_masks(
    src: str,
    prefix: str,
    ann: CocoAnnotations,
    sizes: NDArray[np.int64] | None,
    image: NDArray[np.int64],
) -> RleMasks:
    segs = ann.segmentation or ()
    if all(isinstance(s, CocoRle) and isinstance(s.counts, str) for s in segs):
        try:
            size = np.array([s.size for s in segs], dtype=np.int64).reshape(len(segs), 2)  # type: ignore[union-attr]
        except ValueError:
            bad = next(i for i, s in enumerate(segs) if len(s.size) != 2)  # type: ignore[union-attr]
            raise ImportFormatError(
                src, _loc(prefix, bad, "segmentation.size"), "must be [height, width]"
            ) from None
        strings = [s.counts for s in segs]  # type: ignore[union-attr]
        return RleMasks.from_strings(size, strings)  # type: ignore[arg-type]
    n = len(ann)
    return _masks([_det_mask(src, prefix, i, ann, sizes, int(image[i])) for i in range(n)])


def _det_mask(
    src: str,
    prefix: str,
    i: int,
    ann: CocoAnnotations,
    sizes: NDArray[np.int64] | None,
    img: int,
) -> dict[str, object]:
    seg = ann.segmentation[i] if ann.segmentation is not None else None
    h, w = (int(sizes[img, 0]), int(sizes[img, 1])) if sizes is not None else (-1, -1)
    if seg is None and ann.has_bbox[i]:
        x, y, bw, bh = ann.bbox[i].tolist()
        seg = [[x, y, x, y + bh, x + bw, y + bh, x + bw, y]]
    return _to_rle(src, _loc(prefix, i, "segmentation"), seg, h, w)


def image_sizes(gt_file: CocoFile) -> NDArray[np.int64]:
    """[num_images, 2] (height, width) in ascending-id order (-1 when not given)."""
    if gt_file.images is None:
        return np.zeros((0, 2), dtype=np.int64)
    order = sorted_order(gt_file.source, "images", gt_file.images.ids)
    return np.stack([gt_file.images.height[order], gt_file.images.width[order]], axis=1)


def load_coco_pair(
    gt_path: str,
    dt_path: str,
    iou_type: IouType = "bbox",
    *,
    warnings: list[str] | None = None,
) -> tuple[CocoGroundTruth, CocoDetections]:
    """Read a GT dataset file and a results file into evaluation inputs.

    ``warnings``, when given, receives what the inputs look wrong in without being invalid
    (boxes that look normalised: the importer's check, ``formats.coco_checks``).
    """
    fields: IouType = iou_type
    gt_file = read_coco_file(gt_path, fields)
    gt = ground_truth_inputs(gt_file, iou_type)
    sizes = image_sizes(gt_file)
    del gt_file
    dt_file = read_coco_file(dt_path, fields)
    dt = detection_inputs(dt_file, gt, sizes, iou_type)
    if warnings is not None:
        for path, inputs in ((gt_path, gt), (dt_path, dt)):
            if iou_type == "bbox" and sizes.shape[0]:
                hw = sizes[inputs.image].astype(np.float64)
                count = unit_square_count(inputs.bbox, hw[:, 1], hw[:, 0])
                found = normalised_box_warning(count, int(inputs.bbox.shape[0]))
                if found is not None:
                    warnings.append(f"{path}: {found}")
    return gt, dt
