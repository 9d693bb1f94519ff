"""Match COCO categories to ontology objects and COCO images to data units.

Encord's guide makes users write this matching by hand; predscope does it by default and reports
what it did, so a wrong guess is visible before anything is written. Categories match by name
(exact, then ignoring case and separators), images by ``file_name`` (full relative path, then
the file name where no folder named on both sides differs); explicit map files win over both.
Nothing here touches the database: callers hand in plain target lists.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from predscope.exceptions import ImportFormatError

__all__ = [
    "CategoryMatch",
    "CocoId",
    "ImageMatch",
    "MappingReport",
    "ObjectTarget",
    "UnitTarget",
    "load_map_file",
    "match_categories",
    "match_images",
    "normalise_name",
    "shape_preference",
]

CocoId = int | str

# Ontology shapes a COCO annotation can be turned into (anything else cannot come from COCO).
COCO_SHAPES = frozenset(
    {
        "bounding_box",
        "rotatable_bounding_box",
        "polygon",
        "bitmask",
        "skeleton",
        "point",
        "polyline",
    }
)

_SEPARATORS = re.compile(r"[\s_\-./:]+")


@dataclass(frozen=True, slots=True)
class ObjectTarget:
    """An ontology object a category may map to."""

    feature_hash: str
    title: str
    shape: str


@dataclass(frozen=True, slots=True)
class UnitTarget:
    """A data unit (or one frame of an image group) an image may map to."""

    data_hash: str
    title: str
    width: int | None = None
    height: int | None = None
    frame: int = 0


@dataclass(frozen=True, slots=True)
class CategoryMatch:
    """One COCO category and what it matched; ``how`` is exact|normalised|map|ambiguous|none."""

    coco_id: CocoId
    name: str
    how: str
    target: ObjectTarget | None = None
    reason: str = ""

    @property
    def matched(self) -> bool:
        return self.target is not None


@dataclass(frozen=True, slots=True)
class ImageMatch:
    """One COCO image and what it matched; ``how`` is path|basename|map|recorded|ambiguous|none."""

    coco_id: CocoId
    file_name: str
    how: str
    target: UnitTarget | None = None
    reason: str = ""

    @property
    def matched(self) -> bool:
        return self.target is not None


@dataclass
class MappingReport:
    """Matched and unmatched categories and images, in input order."""

    categories: list[CategoryMatch] = field(default_factory=list)
    images: list[ImageMatch] = field(default_factory=list)

    def category_targets(self) -> dict[CocoId, ObjectTarget]:
        return {m.coco_id: m.target for m in self.categories if m.target is not None}

    def image_targets(self) -> dict[CocoId, UnitTarget]:
        return {m.coco_id: m.target for m in self.images if m.target is not None}

    @property
    def unmatched_categories(self) -> list[CategoryMatch]:
        return [m for m in self.categories if m.target is None]

    @property
    def unmatched_images(self) -> list[ImageMatch]:
        return [m for m in self.images if m.target is None]

    def counts(self) -> dict[str, int]:
        cats = sum(1 for m in self.categories if m.matched)
        imgs = sum(1 for m in self.images if m.matched)
        return {
            "categories_matched": cats,
            "categories_unmatched": len(self.categories) - cats,
            "images_matched": imgs,
            "images_unmatched": len(self.images) - imgs,
        }


def normalise_name(name: str) -> str:
    """Fold case and drop separators, so ``Traffic-Light`` meets ``traffic_light``."""
    return _SEPARATORS.sub("", name.casefold())


def id_key(value: CocoId) -> str:
    """The text form of an id, so JSON map keys (always strings) meet integer ids."""
    return str(value)


# --------------------------------------------------------------------------------------------------
# categories


def _resolve_object(
    value: str, objects: Sequence[ObjectTarget], by_hash: Mapping[str, ObjectTarget]
) -> list[ObjectTarget]:
    """Candidates for a map value: a feature hash, else an exact title, else a normalised title."""
    hit = by_hash.get(value)
    if hit is not None:
        return [hit]
    exact = [o for o in objects if o.title == value]
    if exact:
        return exact
    norm = normalise_name(value)
    return [o for o in objects if normalise_name(o.title) == norm]


def match_categories(
    categories: Iterable[tuple[CocoId, str]],
    objects: Sequence[ObjectTarget],
    *,
    category_map: Mapping[str, str] | None = None,
    map_source: str = "category map",
    prefer: Mapping[CocoId, Sequence[str]] | None = None,
) -> MappingReport:
    """Match ``(id, name)`` categories to ontology objects.

    ``category_map`` keys are category ids (as text) or names; values are feature hashes or object
    titles; an empty value leaves the category unmatched. A map value that names no object is an
    error (the user asked for it explicitly); a category that matches nothing or several objects is
    reported unmatched with the reason.
    """
    usable = [o for o in objects if o.shape in COCO_SHAPES]
    by_hash = {o.feature_hash: o for o in usable}
    by_title: dict[str, list[ObjectTarget]] = defaultdict(list)
    by_norm: dict[str, list[ObjectTarget]] = defaultdict(list)
    for obj in usable:
        by_title[obj.title].append(obj)
        by_norm[normalise_name(obj.title)].append(obj)
    report = MappingReport()
    for coco_id, name in categories:
        if category_map is not None:
            value = category_map.get(id_key(coco_id), category_map.get(name))
            if value == "":
                reason = "left unmapped by the category map"
                report.categories.append(CategoryMatch(coco_id, name, "map", None, reason))
                continue
            if value is not None:
                found = _resolve_object(value, usable, by_hash)
                if len(found) != 1:
                    what = "no ontology object" if not found else f"{len(found)} ontology objects"
                    raise ImportFormatError(
                        map_source,
                        f"category {coco_id!r}",
                        f"maps to {value!r}, which matches {what} with a COCO-importable shape",
                        "give a feature hash or a unique object title",
                    )
                report.categories.append(CategoryMatch(coco_id, name, "map", found[0]))
                continue
        ranking = prefer.get(coco_id, ()) if prefer is not None else ()
        report.categories.append(_match_category_by_name(coco_id, name, by_title, by_norm, ranking))
    return report


def shape_preference(*, bbox: bool, polygon: bool, rle: bool, keypoints: bool) -> tuple[str, ...]:
    """Shapes in the order a category's geometry fills them best (masks before boxes)."""
    order: list[str] = []
    if keypoints:
        order += ["skeleton"]
    if rle:
        order += ["bitmask"]
    if polygon:
        order += ["polygon", "bitmask"]
    if bbox or polygon or rle:
        order += ["bounding_box", "rotatable_bounding_box"]
    return tuple(dict.fromkeys(order))


def _pick(candidates: list[ObjectTarget], ranking: Sequence[str]) -> ObjectTarget | None:
    """The one candidate whose shape ranks best, if exactly one does."""
    if len(candidates) == 1:
        return candidates[0]
    rank = {shape: i for i, shape in enumerate(ranking)}
    scored = sorted(candidates, key=lambda o: rank.get(o.shape, len(rank)))
    best = rank.get(scored[0].shape, len(rank))
    if best < len(rank) and rank.get(scored[1].shape, len(rank)) > best:
        return scored[0]
    return None


def _match_category_by_name(
    coco_id: CocoId,
    name: str,
    by_title: Mapping[str, list[ObjectTarget]],
    by_norm: Mapping[str, list[ObjectTarget]],
    ranking: Sequence[str],
) -> CategoryMatch:
    for how, candidates in (
        ("exact", by_title.get(name, [])),
        ("normalised", by_norm.get(normalise_name(name), [])),
    ):
        picked = _pick(candidates, ranking) if candidates else None
        if picked is not None:
            return CategoryMatch(coco_id, name, how, picked)
        if len(candidates) > 1:
            shapes = ", ".join(sorted(o.shape for o in candidates))
            return CategoryMatch(
                coco_id,
                name,
                "ambiguous",
                None,
                f"{len(candidates)} ontology objects match ({shapes}); "
                "pick one with a category map",
            )
    return CategoryMatch(coco_id, name, "none", None, "no ontology object has this name")


# --------------------------------------------------------------------------------------------------
# images


def _clean_path(name: str) -> str:
    text = name.replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def match_images(
    images: Iterable[tuple[CocoId, str]],
    units: Sequence[UnitTarget],
    *,
    image_map: Mapping[str, str] | None = None,
    map_source: str = "image map",
    match_stem: bool = False,
) -> MappingReport:
    """Match ``(id, file_name)`` images to data units (or image-group frames).

    ``image_map`` keys are image ids (as text) or file names; values are data hashes or data titles
    (empty: leave the image unmatched).
    An image group's frames can be addressed as ``data_hash:frame`` in a map value. ``match_stem``
    adds a last tier that ignores extensions, for YOLO files ``00001.txt`` beside ``00001.jpg``.
    """
    by_hash: dict[str, list[UnitTarget]] = defaultdict(list)
    by_path: dict[str, list[UnitTarget]] = defaultdict(list)
    by_base: dict[str, list[UnitTarget]] = defaultdict(list)
    by_stem: dict[str, list[UnitTarget]] = defaultdict(list)
    for unit in units:
        by_hash[unit.data_hash].append(unit)
        path = _clean_path(unit.title)
        by_path[path].append(unit)
        by_base[PurePosixPath(path).name].append(unit)
        if not match_stem:
            continue  # only the YOLO tier reads stems; parsing paths costs per unit
        stem = _stem(path)
        by_stem[stem].append(unit)
        base_stem = PurePosixPath(stem).name
        if base_stem != stem:
            by_stem[base_stem].append(unit)
    report = MappingReport()
    for coco_id, file_name in images:
        if image_map is not None:
            value = image_map.get(id_key(coco_id), image_map.get(file_name))
            if value == "":
                reason = "left unmapped by the image map"
                report.images.append(ImageMatch(coco_id, file_name, "map", None, reason))
                continue
            if value is not None:
                target = _resolve_unit(value, by_hash, by_path)
                if target is None:
                    raise ImportFormatError(
                        map_source,
                        f"image {coco_id!r}",
                        f"maps to {value!r}, which is neither a data hash nor a unique data title "
                        "in the project",
                        "use the data hash shown by `predscope labels`",
                    )
                report.images.append(ImageMatch(coco_id, file_name, "map", target))
                continue
        report.images.append(
            _match_image_by_name(
                coco_id, file_name, by_path, by_base, by_stem if match_stem else None
            )
        )
    return report


def _stem(path: str) -> str:
    """The path without its extension (``a/b.jpg`` -> ``a/b``)."""
    pure = PurePosixPath(path)
    return pure.with_suffix("").as_posix() if pure.suffix else pure.as_posix()


def _resolve_unit(
    value: str,
    by_hash: Mapping[str, list[UnitTarget]],
    by_path: Mapping[str, list[UnitTarget]],
) -> UnitTarget | None:
    frame = 0
    key = value
    if value not in by_hash and ":" in value:
        head, _, tail = value.rpartition(":")
        if tail.isdigit() and head in by_hash:
            key, frame = head, int(tail)
    for unit in by_hash.get(key, []):
        if unit.frame == frame:
            return unit
    titled = by_path.get(_clean_path(value), [])
    return titled[0] if len(titled) == 1 else None


def _path_tail_matches(path: str, candidates: list[UnitTarget]) -> list[UnitTarget]:
    """Units whose title and ``path`` agree on every folder both name, counted from the file.

    A bare ``0001.png`` matches ``cam1/0001.png`` and ``data/cam1/0001.png`` matches a unit titled
    ``cam1/0001.png`` (or a bare ``0001.png``), but ``cam1/0001.png`` never matches
    ``cam2/0001.png``: a folder in both names that differs is a different image.
    """
    if not candidates:
        return candidates
    parts = PurePosixPath(path).parts
    out = []
    for unit in candidates:
        title_parts = PurePosixPath(_clean_path(unit.title)).parts
        n = min(len(parts), len(title_parts))
        if parts[len(parts) - n :] == title_parts[len(title_parts) - n :]:
            out.append(unit)
    return out


def _match_image_by_name(
    coco_id: CocoId,
    file_name: str,
    by_path: Mapping[str, list[UnitTarget]],
    by_base: Mapping[str, list[UnitTarget]],
    by_stem: Mapping[str, list[UnitTarget]] | None,
) -> ImageMatch:
    if not file_name:
        return ImageMatch(coco_id, file_name, "none", None, "the image has no file_name")
    path = _clean_path(file_name)
    tiers = [
        ("path", by_path.get(path, [])),
        ("basename", _path_tail_matches(path, by_base.get(PurePosixPath(path).name, []))),
    ]
    if by_stem is not None:
        stem = _stem(path)
        tiers.append(("stem", by_stem.get(stem, [])))
        if PurePosixPath(stem).name != stem:
            tiers.append(("stem", by_stem.get(PurePosixPath(stem).name, [])))
    for how, candidates in tiers:
        if len(candidates) == 1:
            return ImageMatch(coco_id, file_name, how, candidates[0])
        if len(candidates) > 1:
            return ImageMatch(
                coco_id,
                file_name,
                "ambiguous",
                None,
                f"{len(candidates)} data units are titled like this; use an image map",
            )
    return ImageMatch(coco_id, file_name, "none", None, "no data unit has this title")


# --------------------------------------------------------------------------------------------------
# map files


def load_map_file(path: str | Path) -> dict[str, str]:
    """Read a two-column map: a JSON object, or CSV/TSV lines ``key,value`` (header row allowed).

    Keys and values are kept as text; integer JSON values become their decimal text.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFormatError(source, "", f"cannot read the map file ({exc.strerror})") from exc
    stripped = text.lstrip()
    if not stripped:
        raise ImportFormatError(
            source, "", "the map file is empty", "write one `key,value` per line"
        )
    if stripped[0] in "{[":
        return _map_from_json(source, text)
    return _map_from_delimited(source, text)


def _map_from_json(source: str, text: str) -> dict[str, str]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            source, f"line {exc.lineno} column {exc.colno}", f"malformed JSON ({exc.msg})"
        ) from exc
    pairs: Iterable[object]
    if isinstance(payload, dict):
        pairs = payload.items()
    elif isinstance(payload, list):
        pairs = payload
    else:
        raise ImportFormatError(source, "", "a JSON map must be an object or a list of pairs")
    out: dict[str, str] = {}
    for index, pair in enumerate(pairs):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ImportFormatError(source, f"[{index}]", "expected a [key, value] pair")
        key, value = pair
        for what, item in (("key", key), ("value", value)):
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise ImportFormatError(
                    source, f"[{index}]", f"the {what} {item!r} is not a string or an integer"
                )
        out[str(key)] = str(value)
    return out


def _map_from_delimited(source: str, text: str) -> dict[str, str]:
    first = text.splitlines()[0]
    delimiter = "\t" if "\t" in first else ","
    out: dict[str, str] = {}
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for row in reader:
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) != 2 or not cells[0] or not cells[1]:
            raise ImportFormatError(
                source,
                f"line {reader.line_num}",
                f"expected 2 columns, found {len(cells)}",
                "write `key,value` (COCO id or name, then data hash/title or object hash/title)",
            )
        if reader.line_num == 1 and cells[0].casefold() in {"key", "coco", "coco_id", "id", "name"}:
            continue
        out[cells[0]] = cells[1]
    return out
