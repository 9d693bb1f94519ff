"""Pascal VOC XML: boxes, flags, scores, and refusal of DTDs and malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from predscope.exceptions import ImportFormatError
from predscope.formats.voc import parse_voc_xml, read_voc_dir

GOOD = b"""<?xml version="1.0"?>
<annotation>
  <folder>VOC2007</folder>
  <filename>000001.jpg</filename>
  <size><width>200</width><height>100</height><depth>3</depth></size>
  <object>
    <name>dog</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>11</ymin><xmax>50</xmax><ymax>60</ymax></bndbox>
  </object>
  <object>
    <name>person</name><difficult>1</difficult><score>1.7</score>
    <bndbox><xmin>101.5</xmin><ymin>1</ymin><xmax>200</xmax><ymax>100</ymax></bndbox>
  </object>
</annotation>
"""


def test_parse_boxes_flags_and_score() -> None:
    parsed = parse_voc_xml(GOOD, source="a.xml")
    assert (parsed.file_name, parsed.width, parsed.height) == ("000001.jpg", 200, 100)
    dog, person = parsed.objects
    assert (dog.name, dog.truncated, dog.difficult, dog.score) == ("dog", True, False, None)
    # 1-based inclusive pixels: xmin=1..xmax=50 spans [0, 50).
    assert (dog.x, dog.y, dog.w, dog.h) == pytest.approx((0.0, 0.1, 0.25, 0.5))
    assert (person.name, person.difficult, person.score) == ("person", True, 1.7)
    assert (person.x, person.w, person.y, person.h) == pytest.approx((0.5025, 0.4975, 0.0, 1.0))


def test_zero_based_option() -> None:
    dog = parse_voc_xml(GOOD, source="a.xml", one_based=False).objects[0]
    assert (dog.x, dog.w) == pytest.approx((0.005, 0.245))


def test_filename_falls_back_to_xml_stem(tmp_path: Path) -> None:
    path = tmp_path / "img7.xml"
    path.write_bytes(GOOD.replace(b"<filename>000001.jpg</filename>", b""))
    (tmp_path / "other.xml").write_bytes(GOOD)
    files = read_voc_dir(tmp_path)
    assert [f.file_name for f in files] == ["img7", "000001.jpg"]
    assert read_voc_dir(path)[0].file_name == "img7"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotation/>', "DTD or entities"),
        (b"<annotation><size>", r"line 1 column 19: malformed XML \(no element found\)"),
        (b"<html/>", "not <annotation>"),
        (b"<annotation><object/></annotation>", "missing <size>"),
        (GOOD.replace(b"<width>200</width>", b"<width>-3</width>"), "size.width"),
        (GOOD.replace(b"<height>100</height>", b"<height>nan</height>"), "size.height"),
        (GOOD.replace(b"<name>dog</name>", b""), r"object\[0\]: missing <name>"),
        (GOOD.replace(b"<xmax>50</xmax>", b"<xmax>a</xmax>"), r"object\[0\].bndbox.xmax"),
        (GOOD.replace(b"<xmax>50</xmax>", b"<xmax>0</xmax>"), "empty box"),
        (GOOD.replace(b"<score>1.7</score>", b"<score>inf</score>"), r"object\[1\].score"),
    ],
)
def test_bad_files(data: bytes, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message) as info:
        parse_voc_xml(data, source="bad.xml")
    assert str(info.value).startswith("bad.xml")


def test_empty_file_and_no_files(tmp_path: Path) -> None:
    (tmp_path / "e.xml").write_bytes(b"  \n")
    with pytest.raises(ImportFormatError, match="empty"):
        read_voc_dir(tmp_path / "e.xml")
    (tmp_path / "d").mkdir()
    with pytest.raises(ImportFormatError, match="no .xml"):
        read_voc_dir(tmp_path / "d")
