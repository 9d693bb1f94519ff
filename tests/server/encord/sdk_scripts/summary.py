"""What a script sees of a project's rows, as plain JSON: used by the real SDK (through the
server) and by predscope's own SDK (in process), whose APIs share these names, so the two
readings can be compared value for value. Imports nothing from either package."""

from __future__ import annotations

from typing import Any


def _answer(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return sorted(str(getattr(v, "value", v)) for v in value)
    return str(getattr(value, "value", value))


def _coords(c: Any) -> Any:
    kind = type(c).__name__
    if kind in ("BoundingBoxCoordinates", "RotatableBoundingBoxCoordinates"):
        keys = ["top_left_x", "top_left_y", "width", "height", "theta"]
        return [kind] + [round(float(getattr(c, k)), 6) for k in keys if hasattr(c, k)]
    if kind == "PointCoordinate":
        return [kind, round(float(c.x), 6), round(float(c.y), 6)]
    if kind in ("PolygonCoordinates", "PolylineCoordinates"):
        return [kind] + [[round(float(p.x), 6), round(float(p.y), 6)] for p in c.values]
    if kind == "SkeletonCoordinates":
        return [kind] + [[v.name, round(float(v.x), 6), round(float(v.y), 6)] for v in c.values]
    if kind == "BitmaskCoordinates":
        d = c.to_dict()  # the SDK needs numpy for arrays; the encoded form needs nothing
        return [kind, d["height"], d["width"], d["rleString"]]
    return [kind]


def summarise(rows: list[Any]) -> list[dict[str, Any]]:
    """``rows`` are initialised label rows."""
    out = []
    for row in rows:
        objects = []
        for inst in row.get_object_instances():
            answers = {
                a.name: _answer(inst.get_answer(a))
                for a in inst.ontology_item.attributes
                if not getattr(a, "dynamic", False)
            }
            annotations = [
                [
                    a.frame,
                    round(float(a.confidence), 6),
                    bool(a.manual_annotation),
                    _coords(a.coordinates),
                ]
                for a in inst.get_annotations()
            ]
            shape = getattr(inst.ontology_item.shape, "value", inst.ontology_item.shape)
            objects.append([inst.object_name, str(shape), annotations, answers])
        classifications = []
        for cls in row.get_classification_instances():
            frames = sorted(a.frame for a in cls.get_annotations())
            classifications.append([cls.classification_name, _answer(cls.get_answer()), frames])
        out.append(
            {
                "title": row.data_title,
                "branch": row.branch_name,
                "objects": sorted(objects, key=repr),
                "classifications": sorted(classifications, key=repr),
            }
        )
    return sorted(out, key=lambda r: (r["title"], r["branch"]))
