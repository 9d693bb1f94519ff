"""Geometry of one object on one frame, normalised to 0..1 of the media size like Encord.

Validation happens at construction so that a bad label never reaches the store. Normalised values
may exceed [0, 1] by at most ``TOLERANCE`` (1e-9) to absorb float noise from pixel division; they
are stored exactly as given (never clamped), so Encord JSON round-trips float for float.
Box extents (x + w) are not checked: Encord allows boxes that overhang the frame edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from predscope.exceptions import CoordinatesError
from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.common import Shape
from predscope.objects.frames import Range

__all__ = [
    "TOLERANCE",
    "AudioCoordinates",
    "BitmaskCoordinates",
    "BoundingBoxCoordinates",
    "Coordinates",
    "PointCoordinate",
    "PointCoordinate3D",
    "PolygonCoordinates",
    "PolylineCoordinates",
    "RotatableBoundingBoxCoordinates",
    "SHAPE_COORDINATES",
    "SkeletonCoordinate",
    "SkeletonCoordinates",
    "TextCoordinates",
    "Visibility",
    "coordinates_from_encord",
    "coordinates_to_encord",
]

TOLERANCE = 1e-9
_LO = -TOLERANCE
_HI = 1.0 + TOLERANCE


def _number(owner: object, field: str, value: object, normalised: bool) -> float:
    """Slow path: say exactly which field is wrong, or return the value as a plain float."""
    name = type(owner).__name__
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            as_float = float(value)  # type: ignore[arg-type]  # numpy scalars
        except (TypeError, ValueError):
            raise CoordinatesError(
                f"{name}.{field}: {value!r} is not a number - pass a float"
            ) from None
        if isinstance(value, (bool, str, bytes)):
            raise CoordinatesError(f"{name}.{field}: {value!r} is not a number - pass a float")
        value = as_float
    number = float(value)
    if not math.isfinite(number):
        raise CoordinatesError(f"{name}.{field}: {value!r} is not finite - pass a real number")
    if normalised and not _LO <= number <= _HI:
        raise CoordinatesError(
            f"{name}.{field}: {value!r} is outside [0, 1] - coordinates are fractions of the"
            " image size; divide pixels by the image width/height"
        )
    if field in ("height", "width") and number < 0:
        raise CoordinatesError(f"{name}.{field}: {value!r} is negative")
    # Keep the caller's float object when it already is one, so JSON round-trips exactly.
    return value if type(value) is float else number


def _validate(owner: object, fields: tuple[str, ...], normalised: tuple[bool, ...]) -> None:
    for field, norm in zip(fields, normalised, strict=True):
        object.__setattr__(owner, field, _number(owner, field, getattr(owner, field), norm))


@dataclass(frozen=True, slots=True, init=False)
class BoundingBoxCoordinates:
    height: float
    width: float
    top_left_x: float
    top_left_y: float

    def __init__(self, height: float, width: float, top_left_x: float, top_left_y: float) -> None:
        # Written by hand (one per prediction in bulk imports): the slots' own setters skip the
        # frozen dataclass's four object.__setattr__ calls and the separate __post_init__ call.
        _BOX_SET_H(self, height)
        _BOX_SET_W(self, width)
        _BOX_SET_X(self, top_left_x)
        _BOX_SET_Y(self, top_left_y)
        # Fast path: four plain floats in range. NaN fails every comparison.
        if (
            type(height) is float
            and type(width) is float
            and type(top_left_x) is float
            and type(top_left_y) is float
            and 0.0 <= height <= _HI
            and 0.0 <= width <= _HI
            and _LO <= top_left_x <= _HI
            and _LO <= top_left_y <= _HI
        ):
            return
        _validate(self, ("height", "width", "top_left_x", "top_left_y"), (True,) * 4)


_BOX_SET_H, _BOX_SET_W, _BOX_SET_X, _BOX_SET_Y = (
    vars(BoundingBoxCoordinates)[name].__set__
    for name in ("height", "width", "top_left_x", "top_left_y")
)


@dataclass(frozen=True, slots=True)
class RotatableBoundingBoxCoordinates:
    """``theta`` is in degrees, clockwise about the box centre; any finite value is accepted."""

    height: float
    width: float
    top_left_x: float
    top_left_y: float
    theta: float

    def __post_init__(self) -> None:
        _validate(
            self,
            ("height", "width", "top_left_x", "top_left_y", "theta"),
            (True, True, True, True, False),
        )


@dataclass(frozen=True, slots=True)
class PointCoordinate:
    x: float
    y: float

    def __post_init__(self) -> None:
        x, y = self.x, self.y
        if type(x) is float and type(y) is float and _LO <= x <= _HI and _LO <= y <= _HI:
            return
        _validate(self, ("x", "y"), (True, True))


@dataclass(frozen=True, slots=True)
class PointCoordinate3D:
    """x and y are normalised; z is depth in the media's own unit and only has to be finite."""

    x: float
    y: float
    z: float

    def __post_init__(self) -> None:
        _validate(self, ("x", "y", "z"), (True, True, False))


def _check_ring(ring: Sequence[PointCoordinate], where: str) -> tuple[PointCoordinate, ...]:
    points = tuple(ring)
    for i, p in enumerate(points):
        if not isinstance(p, PointCoordinate):
            raise CoordinatesError(
                f"{where}[{i}]: expected PointCoordinate, got {type(p).__name__}"
            )
    if len(points) < 3:
        raise CoordinatesError(
            f"{where}: a polygon ring needs at least 3 points, got {len(points)}"
            " - use a polyline or point for fewer"
        )
    twice_area = 0.0
    prev = points[-1]
    for p in points:
        twice_area += prev.x * p.y - p.x * prev.y
        prev = p
    if abs(twice_area) <= 1e-18:
        raise CoordinatesError(f"{where}: polygon ring has zero area (all points on one line)")
    return points


class PolygonCoordinates:
    """One or more polygons, each an outer ring followed by its holes.

    Give exactly one of ``values`` (a single ring, Encord's legacy form) or ``polygons``.
    """

    __slots__ = ("_polygons",)

    _polygons: tuple[tuple[tuple[PointCoordinate, ...], ...], ...]

    def __init__(
        self,
        values: Sequence[PointCoordinate] | None = None,
        polygons: Sequence[Sequence[Sequence[PointCoordinate]]] | None = None,
    ) -> None:
        if (values is None) == (polygons is None):
            raise CoordinatesError(
                "PolygonCoordinates: give exactly one of values (one ring) or polygons"
            )
        frozen: tuple[tuple[tuple[PointCoordinate, ...], ...], ...]
        if values is not None:
            frozen = ((_check_ring(values, "PolygonCoordinates.values"),),)
        elif polygons is not None:
            if len(polygons) == 0:
                raise CoordinatesError("PolygonCoordinates.polygons: needs at least one polygon")
            out = []
            for i, polygon in enumerate(polygons):
                if len(polygon) == 0:
                    raise CoordinatesError(
                        f"PolygonCoordinates.polygons[{i}]: polygon has no rings"
                    )
                out.append(
                    tuple(
                        _check_ring(ring, f"PolygonCoordinates.polygons[{i}][{j}]")
                        for j, ring in enumerate(polygon)
                    )
                )
            frozen = tuple(out)
        object.__setattr__(self, "_polygons", frozen)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PolygonCoordinates is immutable")

    @property
    def values(self) -> list[PointCoordinate]:
        """The first ring of the first polygon (what pre-0.1.157 Encord code reads)."""
        return list(self._polygons[0][0])

    @property
    def polygons(self) -> list[list[list[PointCoordinate]]]:
        return [[list(ring) for ring in polygon] for polygon in self._polygons]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PolygonCoordinates):
            return NotImplemented
        return self._polygons == other._polygons

    def __hash__(self) -> int:
        return hash(self._polygons)

    def __repr__(self) -> str:
        return f"PolygonCoordinates(polygons={self.polygons!r})"


@dataclass(frozen=True, slots=True)
class PolylineCoordinates:
    values: list[PointCoordinate] | list[PointCoordinate3D]

    def __post_init__(self) -> None:
        values = list(self.values)
        kinds = {type(v) for v in values}
        if not kinds <= {PointCoordinate, PointCoordinate3D} or len(kinds) > 1:
            raise CoordinatesError(
                "PolylineCoordinates.values: expected all PointCoordinate or all"
                f" PointCoordinate3D, got {sorted(k.__name__ for k in kinds)}"
            )
        if len(values) < 2:
            raise CoordinatesError(
                f"PolylineCoordinates.values: a polyline needs at least 2 points, got {len(values)}"
            )
        object.__setattr__(self, "values", values)


class Visibility(StrEnum):
    VISIBLE = "visible"
    INVISIBLE = "invisible"
    OCCLUDED = "occluded"
    SELF_OCCLUDED = "selfOccluded"


@dataclass(frozen=True, slots=True)
class SkeletonCoordinate:
    x: float
    y: float
    name: str
    feature_hash: str | None = None
    color: str | None = None
    value: str | None = None
    visibility: Visibility | None = None

    def __post_init__(self) -> None:
        _validate(self, ("x", "y"), (True, True))
        if not isinstance(self.name, str):
            raise CoordinatesError(f"SkeletonCoordinate.name: {self.name!r} is not a str")
        if self.visibility is not None and not isinstance(self.visibility, Visibility):
            try:
                object.__setattr__(self, "visibility", Visibility(self.visibility))
            except ValueError:
                raise CoordinatesError(
                    f"SkeletonCoordinate.visibility: {self.visibility!r} is not one of"
                    f" {[v.value for v in Visibility]}"
                ) from None


@dataclass(frozen=True, slots=True)
class SkeletonCoordinates:
    values: list[SkeletonCoordinate]
    name: str | None = None

    def __post_init__(self) -> None:
        values = list(self.values)
        if not values:
            raise CoordinatesError("SkeletonCoordinates.values: a skeleton needs at least 1 point")
        for i, v in enumerate(values):
            if not isinstance(v, SkeletonCoordinate):
                raise CoordinatesError(
                    f"SkeletonCoordinates.values[{i}]: expected SkeletonCoordinate,"
                    f" got {type(v).__name__}"
                )
        object.__setattr__(self, "values", values)


def _check_ranges(owner: object, ranges: object) -> list[Range]:
    name = type(owner).__name__
    if not isinstance(ranges, (list, tuple)) or not ranges:
        raise CoordinatesError(f"{name}.range: needs a non-empty list of Range")
    for i, r in enumerate(ranges):
        if not isinstance(r, Range):
            raise CoordinatesError(f"{name}.range[{i}]: expected Range, got {type(r).__name__}")
    return list(ranges)


@dataclass(frozen=True, slots=True)
class AudioCoordinates:
    """Inclusive ranges in milliseconds."""

    range: list[Range]

    def __post_init__(self) -> None:
        object.__setattr__(self, "range", _check_ranges(self, self.range))


@dataclass(frozen=True, slots=True)
class TextCoordinates:
    """Inclusive character ranges."""

    range: list[Range]

    def __post_init__(self) -> None:
        object.__setattr__(self, "range", _check_ranges(self, self.range))


Coordinates = (
    BoundingBoxCoordinates
    | RotatableBoundingBoxCoordinates
    | PointCoordinate
    | PointCoordinate3D
    | PolygonCoordinates
    | PolylineCoordinates
    | SkeletonCoordinates
    | BitmaskCoordinates
    | AudioCoordinates
    | TextCoordinates
)

SHAPE_COORDINATES: dict[Shape, tuple[type, ...]] = {
    Shape.BOUNDING_BOX: (BoundingBoxCoordinates,),
    Shape.ROTATABLE_BOUNDING_BOX: (RotatableBoundingBoxCoordinates,),
    Shape.POLYGON: (PolygonCoordinates,),
    Shape.POLYLINE: (PolylineCoordinates,),
    Shape.POINT: (PointCoordinate, PointCoordinate3D),
    Shape.SKELETON: (SkeletonCoordinates,),
    Shape.BITMASK: (BitmaskCoordinates,),
    Shape.AUDIO: (AudioCoordinates,),
    Shape.TEXT: (TextCoordinates,),
}


# ---------------------------------------------------------------------------------------------
# Encord per-frame object JSON


def _point_dict(p: PointCoordinate | PointCoordinate3D) -> dict[str, float]:
    if isinstance(p, PointCoordinate3D):
        return {"x": p.x, "y": p.y, "z": p.z}
    return {"x": p.x, "y": p.y}


def _skeleton_point_dict(p: SkeletonCoordinate) -> dict[str, Any]:
    out: dict[str, Any] = {"x": p.x, "y": p.y, "name": p.name}
    if p.color is not None:
        out["color"] = p.color
    if p.feature_hash is not None:
        out["featureHash"] = p.feature_hash
    if p.value is not None:
        out["value"] = p.value
    if p.visibility is not None:
        out["visibility"] = p.visibility.value
    return out


def coordinates_to_encord(c: Coordinates) -> dict[str, Any]:
    """The geometry key(s) to merge into an Encord per-frame object entry."""
    if type(c) is BoundingBoxCoordinates:
        return {"boundingBox": {"h": c.height, "w": c.width, "x": c.top_left_x, "y": c.top_left_y}}
    if isinstance(c, RotatableBoundingBoxCoordinates):
        box = {"h": c.height, "w": c.width, "x": c.top_left_x, "y": c.top_left_y, "theta": c.theta}
        return {"rotatableBoundingBox": box}
    if isinstance(c, PolygonCoordinates):
        rings = c._polygons
        return {
            "polygon": {str(i): {"x": p.x, "y": p.y} for i, p in enumerate(rings[0][0])},
            "polygons": [
                [[v for p in ring for v in (p.x, p.y)] for ring in polygon] for polygon in rings
            ],
        }
    if isinstance(c, PolylineCoordinates):
        line: list[PointCoordinate | PointCoordinate3D] = list(c.values)
        return {"polyline": {str(i): _point_dict(p) for i, p in enumerate(line)}}
    if isinstance(c, (PointCoordinate, PointCoordinate3D)):
        return {"point": {"0": _point_dict(c)}}
    if isinstance(c, BitmaskCoordinates):
        return {"bitmask": c.to_dict()}
    if isinstance(c, SkeletonCoordinates):
        return {"skeleton": {str(i): _skeleton_point_dict(p) for i, p in enumerate(c.values)}}
    if isinstance(c, (AudioCoordinates, TextCoordinates)):
        return {"range": [[r.start, r.end] for r in c.range]}
    raise CoordinatesError(
        f"coordinates_to_encord: {type(c).__name__} is not a coordinates class"
        " - pass one of predscope.objects.coordinates"
    )


def _indexed(value: Any, where: str) -> list[Any]:
    """Items of an Encord index map ({"0": ..., "1": ...}) in index order, or of a list."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        try:
            keyed = sorted((int(k), v) for k, v in value.items())
        except (TypeError, ValueError):
            raise CoordinatesError(
                f"{where}: index map keys must be integers written as strings"
            ) from None
        return [v for _, v in keyed]
    raise CoordinatesError(f"{where}: expected an index map or a list, got {type(value).__name__}")


def _read_point(d: Any, where: str) -> PointCoordinate | PointCoordinate3D:
    if not isinstance(d, Mapping):
        raise CoordinatesError(f"{where}: expected a point {{x, y}}, got {d!r}")
    if "z" in d:
        return PointCoordinate3D(d["x"], d["y"], d["z"])
    return PointCoordinate(d["x"], d["y"])


def _read_ring(ring: Any, where: str) -> list[PointCoordinate]:
    if not isinstance(ring, list):
        raise CoordinatesError(f"{where}: expected a flat list [x1, y1, x2, y2, ...]")
    if ring and isinstance(ring[0], Mapping):
        return [PointCoordinate(p["x"], p["y"]) for p in ring]
    if len(ring) % 2:
        raise CoordinatesError(f"{where}: flat ring has an odd number of values ({len(ring)})")
    return [PointCoordinate(ring[i], ring[i + 1]) for i in range(0, len(ring), 2)]


def _read_polygon(obj: Mapping[str, Any], where: str) -> PolygonCoordinates:
    raw = obj.get("polygons")
    if raw:
        if not isinstance(raw, list):
            raise CoordinatesError(f"{where}: expected a list of polygons of rings")
        polygons = []
        for i, polygon in enumerate(raw):
            if not isinstance(polygon, list):
                raise CoordinatesError(f"{where}[{i}]: expected a list of rings")
            polygons.append([_read_ring(r, f"{where}[{i}][{j}]") for j, r in enumerate(polygon)])
        return PolygonCoordinates(polygons=polygons)
    points = _indexed(obj["polygon"], where)
    return PolygonCoordinates(values=[PointCoordinate(p["x"], p["y"]) for p in points])


_OLD_VISIBILITY = (
    Visibility.INVISIBLE,
    Visibility.OCCLUDED,
    Visibility.SELF_OCCLUDED,
    Visibility.VISIBLE,
)


def _read_skeleton_point(p: Any, where: str) -> SkeletonCoordinate:
    if not isinstance(p, Mapping):
        raise CoordinatesError(f"{where}: expected a skeleton point dict, got {p!r}")
    visibility = p.get("visibility")
    if visibility is None:
        # Older rows carry boolean keys ("invisible": true) instead of one string.
        visibility = next((v for v in _OLD_VISIBILITY if p.get(v.value) is True), None)
    return SkeletonCoordinate(
        x=p["x"],
        y=p["y"],
        name=p["name"],
        feature_hash=p.get("featureHash"),
        color=p.get("color"),
        value=p.get("value"),
        visibility=visibility,
    )


def _read_box(b: Any) -> BoundingBoxCoordinates:
    return BoundingBoxCoordinates(b["h"], b["w"], b["x"], b["y"])


def _read_rotatable(b: Any) -> RotatableBoundingBoxCoordinates:
    return RotatableBoundingBoxCoordinates(b["h"], b["w"], b["x"], b["y"], b["theta"])


def coordinates_from_encord(obj: Mapping[str, Any], where: str = "") -> Coordinates:
    """Read whichever geometry key an Encord per-frame object entry has."""
    prefix = f"{where}: " if where else ""
    key = next((k for k in _GEOMETRY_KEYS if k in obj), None)
    if key is None:
        raise CoordinatesError(
            f"{prefix}object has no geometry key - expected one of {list(_GEOMETRY_KEYS)}"
        )
    value = obj[key]
    try:
        if key == "boundingBox":
            return _read_box(value)
        if key == "rotatableBoundingBox":
            return _read_rotatable(value)
        if key in ("polygons", "polygon"):
            return _read_polygon(obj, key)
        if key == "polyline":
            points = [_read_point(p, key) for p in _indexed(value, key)]
            return PolylineCoordinates(values=points)  # type: ignore[arg-type]
        if key == "point":
            first = _indexed(value, key)
            if not first:
                raise CoordinatesError(f"{key}: has no point")
            return _read_point(first[0], key)
        if key == "skeleton":
            points_ = _indexed(value, key)
            values = [_read_skeleton_point(p, f"{key}[{i}]") for i, p in enumerate(points_)]
            return SkeletonCoordinates(values=values, name=obj.get("name"))
        if key == "bitmask":
            return BitmaskCoordinates(value)
        ranges = [Range(r[0], r[1]) for r in value]
        if obj.get("shape") == Shape.TEXT:
            return TextCoordinates(range=ranges)
        return AudioCoordinates(range=ranges)
    except CoordinatesError as exc:
        raise CoordinatesError(f"{prefix}{key}: {exc}") from None
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise CoordinatesError(
            f"{prefix}{key}: malformed geometry ({type(exc).__name__}: {exc}) - see the Encord"
            " label format for this shape"
        ) from None


_GEOMETRY_KEYS = (
    "boundingBox",
    "rotatableBoundingBox",
    "polygons",
    "polygon",
    "polyline",
    "point",
    "skeleton",
    "bitmask",
    "range",
)
