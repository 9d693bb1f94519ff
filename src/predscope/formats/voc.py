"""Pascal VOC XML annotations: one file per image, ``<object>`` boxes in 1-based pixel coordinates.

The standard library parser expands internal entities, so a file with a DTD could blow up memory or
smuggle text in; VOC files never need one, so any ``<!DOCTYPE`` or ``<!ENTITY`` is refused first.
Boxes come back as normalised top-left ``x y w h`` with the object's index, so reports point at it.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from predscope.exceptions import ImportFormatError

__all__ = ["VocFile", "VocObject", "parse_voc_xml", "read_voc_dir"]

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_SCORE_TAGS = ("score", "confidence")


@dataclass(frozen=True, slots=True)
class VocObject:
    """One ``<object>``: class name, normalised top-left box, flags and optional score."""

    index: int
    name: str
    x: float
    y: float
    w: float
    h: float
    difficult: bool
    truncated: bool
    score: float | None


@dataclass(frozen=True, slots=True)
class VocFile:
    """One annotation file; ``file_name`` (``<filename>``, else the XML stem) meets data units."""

    path: str
    file_name: str
    width: int
    height: int
    objects: tuple[VocObject, ...]


def _text(source: str, where: str, node: ET.Element, tag: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise ImportFormatError(source, where, f"missing <{tag}>")
    return child.text.strip()


def _number(source: str, where: str, node: ET.Element, tag: str) -> float:
    text = _text(source, where, node, tag)
    try:
        value = float(text)
    except ValueError:
        raise ImportFormatError(source, f"{where}.{tag}", f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ImportFormatError(source, f"{where}.{tag}", f"{text} is not a finite number")
    return value


def _flag(node: ET.Element, tag: str) -> bool:
    child = node.find(tag)
    return child is not None and (child.text or "").strip() in {"1", "true", "True"}


def _size(source: str, root: ET.Element) -> tuple[int, int]:
    size = root.find("size")
    if size is None:
        raise ImportFormatError(
            source, "annotation", "missing <size>", "VOC boxes need the image size"
        )
    dims = []
    for tag in ("width", "height"):
        value = _number(source, "size", size, tag)
        if value <= 0 or value != int(value):
            raise ImportFormatError(
                source, f"size.{tag}", f"{value} is not a positive whole number of pixels"
            )
        dims.append(int(value))
    return dims[0], dims[1]


def parse_voc_xml(data: bytes, *, source: str, one_based: bool = True) -> VocFile:
    """Parse one VOC XML document.

    With ``one_based`` (the VOC devkit convention) ``xmin=1, xmax=W`` covers the whole image, so the
    continuous box is ``[xmin - 1, xmax]``; ``one_based=False`` is for tools writing 0-based edges.
    """
    if _FORBIDDEN.search(data):
        raise ImportFormatError(
            source,
            "",
            "the XML declares a DTD or entities, which VOC files never need",
            "remove the <!DOCTYPE>/<!ENTITY> declarations",
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise ImportFormatError(
            source, f"line {line} column {column + 1}", f"malformed XML ({reason})"
        ) from None
    if root.tag != "annotation":
        raise ImportFormatError(
            source,
            "",
            f"the root element is <{root.tag}>, not <annotation>",
            "this does not look like a Pascal VOC file",
        )
    width, height = _size(source, root)
    name_node = root.find("filename")
    file_name = (name_node.text or "").strip() if name_node is not None else ""
    if not file_name:
        file_name = Path(source).stem
    shift = 1.0 if one_based else 0.0
    objects: list[VocObject] = []
    for index, node in enumerate(root.findall("object")):
        where = f"object[{index}]"
        name = _text(source, where, node, "name")
        box = node.find("bndbox")
        if box is None:
            raise ImportFormatError(
                source, where, "missing <bndbox>", "only box objects are supported"
            )
        x0, y0, x1, y1 = (
            _number(source, f"{where}.bndbox", box, tag) for tag in ("xmin", "ymin", "xmax", "ymax")
        )
        x0 -= shift
        y0 -= shift
        if x1 <= x0 or y1 <= y0:
            raise ImportFormatError(
                source,
                f"{where}.bndbox",
                f"empty box (xmin {x0 + shift}, xmax {x1}, ymin {y0 + shift}, ymax {y1})",
                "xmax must exceed xmin and ymax ymin",
            )
        score: float | None = None
        for tag in _SCORE_TAGS:
            if node.find(tag) is not None:
                score = _number(source, where, node, tag)
                break
        objects.append(
            VocObject(
                index,
                name,
                x0 / width,
                y0 / height,
                (x1 - x0) / width,
                (y1 - y0) / height,
                _flag(node, "difficult"),
                _flag(node, "truncated"),
                score,
            )
        )
    return VocFile(source, file_name, width, height, tuple(objects))


def read_voc_dir(path: str | Path, *, one_based: bool = True) -> list[VocFile]:
    """Read one ``.xml`` file, or every ``*.xml`` under a directory (sorted by name)."""
    root = Path(path)
    paths = sorted(root.rglob("*.xml")) if root.is_dir() else [root]
    if not paths:
        raise ImportFormatError(str(root), "", "no .xml annotation files found")
    files: list[VocFile] = []
    for item in paths:
        try:
            data = item.read_bytes()
        except OSError as exc:
            raise ImportFormatError(
                str(item), "", f"cannot read the file ({exc.strerror})"
            ) from exc
        if not data.strip():
            raise ImportFormatError(str(item), "", "the file is empty")
        files.append(parse_voc_xml(data, source=str(item), one_based=one_based))
    return files
