"""A project from one COCO dataset file: ontology, data units and ground truth, all or nothing.

The categories become the ontology (``shape="auto"``: skeleton for keypoints, bitmask for
segmentations - polygons or RLE, and every mask model's output fits it -, else a box; ``shape``
forces one shape for every category: ``bounding_box`` for box models, ``polygon`` to keep
polygons as drawn), each image one data unit (probed from ``images``
when the file is there, else registered by file name and size), and the annotations go to
``main`` through the COCO importer itself (``import_coco_into``), inside the transaction that
creates the project: a bad record anywhere and the store is as before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predscope.exceptions import ImportFormatError, InvalidArgumentsError, ResourceExistsError
from predscope.formats.coco_mapping import UnitTarget
from predscope.formats.coco_reader import CocoFile, read_coco
from predscope.services import history
from predscope.services.imports.coco import category_shapes, import_coco_into
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.report import ImportReport
from predscope.services.progress import Progress, progress_steps
from predscope.services.projects import MediaFile, ontology_to_dict, to_new_units
from predscope.services.rows import paused_gc
from predscope.store import data_units as unit_repo
from predscope.store import projects as project_repo
from predscope.store.engine import Store
from predscope.store.records import NewDataUnit, ProjectRecord

__all__ = ["SHAPES", "OnboardReport", "coco_ontology", "create_project_from_coco"]

SHAPES = ("auto", "bounding_box", "polygon", "bitmask")
_COLOURS = (
    "#D33115", "#FCDC00", "#009CE0", "#68BC00", "#7B64FF", "#FA28FF", "#FE9200", "#16A5A5",
    "#AB149E", "#0C797D", "#B0BC00", "#653294", "#F44E3B", "#194D33", "#73D8FF", "#E27300",
)  # fmt: skip


@dataclass(frozen=True)
class OnboardReport:
    """What onboarding created; ``ground_truth`` is the COCO import's own report (None when the
    file holds no annotations)."""

    project: ProjectRecord
    data_units: int
    with_pixels: int
    missing_files: list[str]
    objects: list[tuple[str, str]]  # (name, shape) in ontology order
    ground_truth: ImportReport | None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        gt = self.ground_truth
        return {
            "project_hash": self.project.project_hash,
            "title": self.project.title,
            "data_units": self.data_units,
            "with_pixels": self.with_pixels,
            "missing_files": self.missing_files,
            "ontology": [{"name": n, "shape": s} for n, s in self.objects],
            "ground_truth": None if gt is None else gt.to_dict(),
            "seconds": round(self.seconds, 3),
        }


def _hash(kind: str, index: int) -> str:
    return f"{kind}{index:07x}"[:8]


def coco_ontology(parsed: CocoFile, shape: str = "auto") -> dict[str, Any]:
    """The Encord ontology of a COCO dataset's categories (see the module docstring)."""
    cats = parsed.categories
    if cats is None or not cats.names:
        raise ImportFormatError(
            parsed.source, "categories", "the file lists no categories", "pass a COCO dataset file"
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(cats.names):
        if not name.strip():
            raise ImportFormatError(
                parsed.source, f"categories[{i}].name", "is empty", "give every category a name"
            )
        if name in seen:
            raise ImportFormatError(
                parsed.source,
                f"categories[{i}].name",
                f"{name!r} is also the name of categories[{seen[name]}]",
                "give every category its own name (objects are matched by name)",
            )
        seen[name] = i
    if shape == "auto":  # a mask object takes polygons and RLE alike, from any mask model
        shapes = ["bitmask" if s == "polygon" else s for s in category_shapes(parsed)]
    else:
        shapes = [shape] * len(cats.names)
    objects: list[dict[str, Any]] = []
    templates: list[dict[str, Any]] = []
    for i, (name, obj_shape) in enumerate(zip(cats.names, shapes, strict=True)):
        fh = _hash("o", i + 1)
        objects.append(
            {
                "id": str(i + 1),
                "name": name,
                "color": _COLOURS[i % len(_COLOURS)],
                "shape": obj_shape,
                "featureNodeHash": fh,
                "required": False,
                "archived": False,
            }
        )
        if obj_shape == "skeleton":
            templates.append(_template(name, fh, cats.keypoints[i] or (), cats.skeletons[i]))
    out: dict[str, Any] = {"objects": objects, "classifications": []}
    if templates:
        out["skeleton_templates"] = templates
    return ontology_to_dict(out)


def _template(
    name: str, fh: str, points: Sequence[str], edges: list[list[int]] | None
) -> dict[str, Any]:
    """A skeleton template: the category's keypoints on a circle, its 1-based edges."""
    import math

    n = max(len(points), 1)
    skeleton = {
        str(k): {
            "x": round(0.5 + 0.4 * math.cos(2 * math.pi * k / n), 4),
            "y": round(0.5 + 0.4 * math.sin(2 * math.pi * k / n), 4),
            "name": point,
            "color": "#000000",
            "value": point,
            "featureHash": f"{fh[:4]}{k:04x}",
        }
        for k, point in enumerate(points)
    }
    links: dict[str, dict[str, Any]] = {}
    for a, b in edges or []:
        if 1 <= a <= len(points) and 1 <= b <= len(points):
            links.setdefault(str(a - 1), {})[str(b - 1)] = {"color": "#000000"}
    body = {
        "name": name,
        "width": 1,
        "height": 1,
        "shape": "skeleton",
        "feature_node_hash": fh,
        "skeleton": skeleton,
        "skeletonEdges": links,
    }
    return {"template": body}


def _order(parsed: CocoFile) -> list[int]:
    """Image-id order when every id is an int (pycocotools' order), else file order."""
    assert parsed.images is not None
    ids = parsed.images.ids
    if all(isinstance(i, int) for i in ids):
        return sorted(range(len(ids)), key=lambda k: int(ids[k]))  # type: ignore[call-overload]
    return list(range(len(ids)))


def _find(images_dir: Path | None, file_name: str) -> Path | None:
    if images_dir is None:
        return None
    for candidate in (images_dir / file_name, images_dir / Path(file_name).name):
        if candidate.is_file():
            return candidate
    return None


def _units(
    parsed: CocoFile, images_dir: Path | None, progress: Progress | None
) -> tuple[list[NewDataUnit], int, list[str]]:
    images = parsed.images
    if images is None or not images.ids:
        raise ImportFormatError(
            parsed.source, "images", "the file lists no images", "pass a COCO dataset file"
        )
    source = parsed.source
    order = _order(parsed)
    titles: dict[str, int] = {}
    units: list[NewDataUnit] = []
    missing: list[str] = []
    found = 0
    with progress_steps(progress, f"registering {len(order)} images", len(order)) as advance:
        for i in order:
            name = images.file_names[i] or ""
            where = f"images[{i}]"
            if not name:
                raise ImportFormatError(
                    source, f"{where}.file_name", "is missing", "give every image its file_name"
                )
            if name in titles:
                raise ImportFormatError(
                    source,
                    f"{where}.file_name",
                    f"{name!r} is also the file_name of images[{titles[name]}]",
                    "give every image its own file_name",
                )
            titles[name] = i
            width, height = int(images.width[i]), int(images.height[i])
            path = _find(images_dir, name)
            if path is not None:
                probed: list[Any] = [MediaFile(path, name)]
                (unit,) = to_new_units(probed)
                if width > 0 and (unit.width, unit.height) != (width, height):
                    raise ImportFormatError(
                        source,
                        where,
                        f"the file says {width}x{height}, but {path} is {unit.width}x{unit.height}",
                        "check that --images is the folder of this dataset's images",
                    )
                units.append(unit)
                found += 1
            else:
                if width <= 0 or height <= 0:
                    field_name = "width" if width <= 0 else "height"
                    hint = "give width and height, or pass --images with the image files"
                    raise ImportFormatError(source, f"{where}.{field_name}", "is missing", hint)
                if images_dir is not None:
                    missing.append(name)
                units.append(
                    NewDataUnit(data_title=name, data_type="image", width=width, height=height)
                )
            advance()
    return units, found, missing


def create_project_from_coco(
    store: Store,
    title: str,
    instances: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    description: str = "",
    shape: str = "auto",
    progress: Progress | None = None,
    origin: str = history.PYTHON,
) -> OnboardReport:
    """Create project ``title`` from a COCO dataset file, with its annotations on ``main``.

    >>> report = create_project_from_coco(store, "coco", "instances_val.json",
    ...                                   images="val2017/")  # doctest: +SKIP
    >>> report.data_units, report.ground_truth.objects  # doctest: +SKIP
    (5000, 36781)
    """
    started = time.perf_counter()
    if shape not in SHAPES:
        raise InvalidArgumentsError(
            f"create project from COCO: shape {shape!r} (--shape) is not one of "
            f"{', '.join(SHAPES)} - 'auto' takes each category's shape from its annotations"
        )
    images_dir = None if images is None else Path(images).expanduser()
    if images_dir is not None and not images_dir.is_dir():
        raise InvalidArgumentsError(
            f"create project from COCO: --images {images_dir} is not a folder - pass the folder "
            "holding the dataset's image files, or leave it out to register images by name and size"
        )
    path = Path(instances).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(str(path), "", f"cannot read the file ({exc.strerror})") from None
    parsed = read_coco(data, str(path))
    if parsed.kind != "dataset":
        raise ImportFormatError(
            str(path),
            "",
            "a COCO results list has no images or categories to build a project from",
            "pass the dataset file (instances_*.json); import results afterwards with "
            "`predscope import coco RESULTS --branch NAME`",
        )
    with store.read() as conn:
        if any(p.title == title for p in project_repo.list_projects(conn)):
            raise ResourceExistsError(
                f"project {title!r} already exists - choose another title (nothing was created)"
            )
    ontology = coco_ontology(parsed, shape)
    units, with_pixels, missing = _units(parsed, images_dir, progress)
    options = ImportOptions(ground_truth=True)
    with paused_gc(), store.begin() as conn:
        project = project_repo.create_project(conn, title, ontology, description)
        records = unit_repo.add_data_units(conn, project.id, units)
        details = {"data_units": len(records), "source": str(path)}
        history.record(
            conn, project, "add data", f"{len(records)} data units", details, origin=origin
        )
        report = None
        if len(parsed.annotations):
            targets = [
                UnitTarget(r.data_hash, r.data_title, int(r.width or 0), int(r.height or 0), 0)
                for r in records
            ]
            report = import_coco_into(
                conn, store, project, parsed, data, targets, options, progress=progress
            )
    objects = [(o["name"], o["shape"]) for o in ontology["objects"]]
    return OnboardReport(
        project=project,
        data_units=len(records),
        with_pixels=with_pixels,
        missing_files=missing,
        objects=objects,
        ground_truth=report,
        seconds=time.perf_counter() - started,
    )
