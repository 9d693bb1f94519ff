"""YOLO text labels: one ``.txt`` per image, one box per line, normalised centre ``cx cy w h``.

Two dialects are common and both are read: the Ultralytics one (``class cx cy w h [score]``, class
as an index into a class-names file) and the one many metric tools use (``name score cx cy w h``,
class as a name, score second). Boxes come back as normalised *top-left* ``x y w h``, the form the
objects layer stores, with the file and line each came from so errors and reports can point at them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from predscope.exceptions import ImportFormatError

__all__ = [
    "ClassMode",
    "ScoreColumn",
    "YoloBox",
    "YoloFile",
    "parse_yolo_text",
    "read_class_names",
    "read_yolo_dir",
]

ClassMode = Literal["index", "name"]
ScoreColumn = Literal["auto", "none", "last", "second"]

# Tolerance for normalised coordinates that exporters round a hair past 1.
_EDGE = 1e-6
_CLASS_FILES = ("classes.txt", "obj.names", "classes.names")


@dataclass(frozen=True, slots=True)
class YoloBox:
    """One line: class name, normalised top-left box, optional score."""

    line: int
    label: str
    x: float
    y: float
    w: float
    h: float
    score: float | None


@dataclass(frozen=True, slots=True)
class YoloFile:
    """The boxes of one image; ``image_key`` is the file stem, matched against data-unit titles."""

    path: str
    image_key: str
    boxes: tuple[YoloBox, ...]


def read_class_names(path: str | Path) -> list[str]:
    """Read a class-names file: one name per line, the line number (from 0) is the class index."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFormatError(
            source, "", f"cannot read the class-names file ({exc.strerror})"
        ) from exc
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ImportFormatError(
            source, "", "the class-names file is empty", "write one name per line"
        )
    for number, name in enumerate(names, start=1):
        if not name:
            raise ImportFormatError(
                source, f"line {number}", "empty class name", "class indices follow line order"
            )
    return names


def _number(source: str, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ImportFormatError(
            source, f"line {line}", f"{field} {text!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise ImportFormatError(
            source, f"line {line}", f"{field} is {text}", "write a finite number"
        )
    return value


def _label(source: str, line: int, token: str, mode: ClassMode, names: Sequence[str] | None) -> str:
    if mode == "name":
        return token
    if not token.isdigit():
        raise ImportFormatError(
            source,
            f"line {line}",
            f"class {token!r} is not a class index",
            "use class_mode='name' for files that carry class names",
        )
    index = int(token)
    if names is None:
        return token
    if index >= len(names):
        raise ImportFormatError(
            source,
            f"line {line}",
            f"class index {index} is beyond the {len(names)} class names",
        )
    return names[index]


def parse_yolo_text(
    text: str,
    *,
    source: str,
    class_names: Sequence[str] | None = None,
    class_mode: ClassMode = "index",
    score_column: ScoreColumn = "auto",
) -> list[YoloBox]:
    """Parse one YOLO label file.

    ``score_column`` ``auto`` reads 5 fields as a box and 6 as a box with the score last
    (Ultralytics ``save_conf``); ``second`` expects ``class score cx cy w h``. Fields split on any
    whitespace.
    """
    boxes: list[YoloBox] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        expected = {"auto": (5, 6), "none": (5,), "last": (6,), "second": (6,)}[score_column]
        if len(fields) not in expected:
            wanted = " or ".join(str(n) for n in expected)
            raise ImportFormatError(
                source,
                f"line {number}",
                f"expected {wanted} fields, found {len(fields)}",
                "write `class cx cy w h` (plus a score column when predictions)",
            )
        label = _label(source, number, fields[0], class_mode, class_names)
        score: float | None = None
        if len(fields) == 6 and score_column == "second":
            score = _number(source, number, "score", fields[1])
            coords = fields[2:]
        elif len(fields) == 6:
            score = _number(source, number, "score", fields[5])
            coords = fields[1:5]
        else:
            coords = fields[1:5]
        cx, cy, w, h = (
            _number(source, number, name, value)
            for name, value in zip(("cx", "cy", "w", "h"), coords, strict=True)
        )
        _check_box(source, number, cx, cy, w, h)
        boxes.append(YoloBox(number, label, cx - w / 2, cy - h / 2, w, h, score))
    return boxes


def _check_box(source: str, line: int, cx: float, cy: float, w: float, h: float) -> None:
    if w <= 0 or h <= 0:
        raise ImportFormatError(
            source, f"line {line}", f"box width and height must be positive, found w={w} h={h}"
        )
    if max(cx, cy, w, h) > 1 + _EDGE or min(cx, cy) < -_EDGE:
        raise ImportFormatError(
            source,
            f"line {line}",
            f"coordinates {cx} {cy} {w} {h} are not fractions of the image",
            "YOLO files hold centre x, y, width, height divided by the image size; "
            "convert absolute pixels first",
        )


def _find_class_file(directory: Path) -> Path | None:
    for name in _CLASS_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def read_yolo_dir(
    directory: str | Path,
    *,
    class_names: Sequence[str] | str | Path | None = None,
    class_mode: ClassMode = "index",
    score_column: ScoreColumn = "auto",
) -> list[YoloFile]:
    """Read every ``*.txt`` label file under ``directory`` (not class-names files), by name.

    ``class_names`` is a list, a file, or ``None`` to look for ``classes.txt`` / ``obj.names``
    beside the labels; index mode without names is an error: indices alone cannot meet the ontology.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ImportFormatError(
            str(root), "", "not a directory", "give the folder of YOLO .txt files"
        )
    names: Sequence[str] | None
    if class_names is None:
        found = _find_class_file(root)
        names = read_class_names(found) if found is not None else None
    elif isinstance(class_names, str | Path):
        names = read_class_names(class_names)
    else:
        names = list(class_names)
    if class_mode == "index" and names is None:
        raise ImportFormatError(
            str(root),
            "",
            "class indices need class names",
            "put classes.txt beside the labels, pass a class-names file, or use class-name mode",
        )
    skip = set(_CLASS_FILES)
    files: list[YoloFile] = []
    for path in sorted(root.rglob("*.txt")):
        if path.name in skip:
            continue
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFormatError(source, "", f"cannot read the label file ({exc})") from exc
        boxes = parse_yolo_text(
            text, source=source, class_names=names, class_mode=class_mode, score_column=score_column
        )
        key = path.relative_to(root).with_suffix("").as_posix()
        files.append(YoloFile(source, key, tuple(boxes)))
    if not files:
        raise ImportFormatError(str(root), "", "no .txt label files found")
    return files
