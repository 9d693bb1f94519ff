"""Stored label rows and stored outcomes into the UI's overlay frames, in pixels.

Shapes come from the label rows themselves (every geometry the ontology allows, holes and
masks included), outcomes from the latest complete analysis (``services.query``, joined by
object hash and frame), so what is drawn is what was evaluated. Rows are read as their stored
documents, frames numbered by the evaluation's own rule (``row_geometry.frame_entries``), and
never built into ``LabelRowV2``s: that took most of an explorer page's time. An object the run
did not evaluate (a class of another shape, say) is drawn without an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from predscope.exceptions import OntologyError
from predscope.formats.row_geometry import frame_entries
from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.coordinates import (
    SHAPE_COORDINATES,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinates,
    Visibility,
    coordinates_from_encord,
)
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.analysis.unit_objects import Outcomes, stored_outcomes
from predscope.services.rows import row_documents
from predscope.store.engine import Store
from predscope.store.records import DataUnitRecord, ProjectRecord
from predscope.ui.shapes import (
    Box,
    Keypoint,
    Mask,
    OutcomeName,
    OverlayFrame,
    OverlayObject,
    Polygon,
    Polyline,
    RotatedBox,
    Shape,
    Skeleton,
)

OUTCOMES: dict[str, OutcomeName] = {"TP": "tp", "FP": "fp", "FN": "fn", "ignored": "ignored"}
MAX_FRAMES = 300  # frames a video detail page carries (those with objects first)


@dataclass(frozen=True)
class UnitFrame:
    index: int
    width: int
    height: int
    frame: OverlayFrame


def frame_size(unit: DataUnitRecord, index: int) -> tuple[int, int]:
    """(width, height) of one frame: an image group's image, else the unit's own size."""
    if unit.images and index < len(unit.images):
        image = unit.images[index]
        return int(image.width or 1), int(image.height or 1)
    return int(unit.width or 1), int(unit.height or 1)


def to_shape(coords: Any, width: int, height: int) -> Shape | None:
    """Encord's normalised coordinates as pixels of a ``width`` x ``height`` frame."""
    if isinstance(coords, BoundingBoxCoordinates):
        return Box(
            coords.top_left_x * width,
            coords.top_left_y * height,
            coords.width * width,
            coords.height * height,
        )
    if isinstance(coords, RotatableBoundingBoxCoordinates):
        return RotatedBox(
            coords.top_left_x * width,
            coords.top_left_y * height,
            coords.width * width,
            coords.height * height,
            coords.theta,
        )
    if isinstance(coords, PolygonCoordinates):
        rings = tuple(
            tuple((p.x * width, p.y * height) for p in ring)
            for polygon in coords.polygons
            for ring in polygon
        )
        return Polygon(rings)
    if isinstance(coords, PolylineCoordinates):
        return Polyline(tuple((p.x * width, p.y * height) for p in coords.values))
    if isinstance(coords, PointCoordinate):
        return Keypoint(coords.x * width, coords.y * height)
    if isinstance(coords, SkeletonCoordinates):
        points = tuple(
            Keypoint(p.x * width, p.y * height, p.name, p.visibility != Visibility.INVISIBLE)
            for p in coords.values
        )
        return Skeleton(points, tuple((i, i + 1) for i in range(len(points) - 1)))
    if isinstance(coords, BitmaskCoordinates):
        return Mask.from_rle_string(coords.rle_string, coords.height, coords.width)
    return None


def _stored(
    store: Store,
    project: ProjectRecord,
    branch: str | None,
    against: str,
    hashes: Sequence[str],
    iou: float,
) -> dict[str, Outcomes]:
    if not branch:
        return {}
    return stored_outcomes(store, project, branch, hashes, iou_threshold=iou, against=against)


class _Classes:
    """The ontology's objects by feature hash, looked up once per page (the codec's rule:
    ``get_child_by_hash``; an object of a shape without coordinates is not drawn)."""

    def __init__(self, project: ProjectRecord) -> None:
        self.ontology = OntologyStructure.from_dict(project.ontology)
        self.found: dict[str, Object] = {}

    def __call__(self, feature_hash: Any, where: str) -> Object:
        key = str(feature_hash)
        obj = self.found.get(key)
        if obj is None:
            try:
                obj = self.ontology.get_child_by_hash(key, Object)
            except OntologyError as exc:
                raise OntologyError(f"{where}: featureHash {feature_hash!r}: {exc}") from None
            self.found[key] = obj
        return obj


def _objects(
    document: dict[str, Any] | None,
    layer: str,
    unit: DataUnitRecord,
    stored: dict[tuple[str, int], dict[str, Any]],
    classes: _Classes,
    tag: str | None = None,
) -> dict[int, list[OverlayObject]]:
    """A stored row's objects per frame, in the order its objects first appear (as
    ``LabelRowV2`` lists them). ``tag`` (a branch name) marks another set's objects: ids and
    class names carry it."""
    per_frame: dict[int, list[OverlayObject]] = {}
    if not document:
        return per_frame
    first_seen: dict[str, int] = {}
    entries: dict[int, dict[str, Mapping[str, Any]]] = {}
    for unit_doc in (document.get("data_units") or {}).values():
        for frame, labels in frame_entries(unit_doc, unit.data_type):
            for entry in labels.get("objects") or ():
                object_hash = str(entry.get("objectHash"))
                first_seen.setdefault(object_hash, len(first_seen))
                entries.setdefault(frame, {})[object_hash] = entry  # a repeat replaces
    where = f"label row {unit.data_title!r}"
    for frame, found in sorted(entries.items()):
        w, h = frame_size(unit, frame)
        for object_hash in sorted(found, key=first_seen.__getitem__):
            entry = found[object_hash]
            obj = classes(entry.get("featureHash"), f"{where} frame {frame}")
            if obj.shape not in SHAPE_COORDINATES:
                continue
            shape = to_shape(coordinates_from_encord(entry, f"{where} frame {frame}"), w, h)
            if shape is None:
                continue
            item = stored.get((object_hash, frame), {})
            error = item.get("error_type")
            per_frame.setdefault(frame, []).append(
                OverlayObject(
                    f"{tag}:{object_hash}" if tag else object_hash,
                    "gt" if layer == "gt" else "pred",
                    shape,
                    f"{obj.title} [{tag}]" if tag else obj.title,
                    OUTCOMES.get(item.get("outcome", "")),
                    float(entry.get("confidence", 1.0)) if layer == "pred" else None,
                    iou=item.get("iou"),
                    error=None if error in (None, "none") else error,
                    partner_id=item.get("matched_object_hash"),
                )
            )
    return per_frame


def unit_frames(
    store: Store,
    project: ProjectRecord,
    units: Sequence[DataUnitRecord],
    *,
    branch: str | None,
    against: str,
    iou: float,
    all_frames: bool = False,
    second: str | None = None,
) -> dict[str, list[UnitFrame]]:
    """Per data hash: its frames with ground truth (and the set's predictions and outcomes).

    Without ``all_frames`` a unit gets its first frame only (a grid tile); with it, every frame
    (a unit of more than ``MAX_FRAMES`` frames: frame 0 and those holding objects, up to that).
    ``second`` adds another analysed set's predictions, with that set's outcomes, each labelled
    with its branch (the compare page's detail view); the ground truth shows the first set's.
    """
    hashes = [u.data_hash for u in units]
    classes = _Classes(project)
    gt_rows = row_documents(store, project, against, hashes)
    pred_rows = row_documents(store, project, branch, hashes) if branch else {}
    other_rows = row_documents(store, project, second, hashes) if second else {}
    mine = _stored(store, project, branch, against, hashes, iou)
    theirs_all = _stored(store, project, second, against, hashes, iou)
    out: dict[str, list[UnitFrame]] = {}
    for unit in units:
        stored = mine.get(unit.data_hash, {})
        gt = _objects(gt_rows.get(unit.data_hash), "gt", unit, stored, classes)
        pred = _objects(pred_rows.get(unit.data_hash), "pred", unit, stored, classes)
        if second:
            theirs = theirs_all.get(unit.data_hash, {})
            extra = _objects(other_rows.get(unit.data_hash), "pred", unit, theirs, classes, second)
            for i, objs in extra.items():
                pred.setdefault(i, []).extend(objs)
        count = len(unit.images) or int(unit.number_of_frames or 1)
        if not all_frames:
            indices = [0]
        elif count <= MAX_FRAMES:
            indices = list(range(count))
        else:  # a long video: the frames holding objects
            indices = sorted({0, *gt, *pred})[:MAX_FRAMES]
        frames = []
        for i in indices:
            w, h = frame_size(unit, i)
            objects = (*gt.get(i, ()), *pred.get(i, ()))
            frames.append(UnitFrame(i, w, h, OverlayFrame(w, h, objects)))
        out[unit.data_hash] = frames
    return out


def image_url(project: ProjectRecord, unit: DataUnitRecord, frame: int = 0) -> str:
    """The pixels of a frame, by data-unit id only: the file itself, a video frame as a still."""
    base = f"/api/projects/{project.project_hash}/data-units/{unit.data_hash}"
    if unit.data_type == "video":
        return f"/api/data-units/{unit.data_hash}/thumbnail?size=1024&frame={frame}"
    if unit.data_type == "img_group":
        return f"{base}/media?frame={frame}"
    return f"{base}/media"


def thumbnail_url(unit: DataUnitRecord, frame: int = 0) -> str:
    return f"/api/data-units/{unit.data_hash}/thumbnail?size=512&frame={frame}"
