"""Category and image matching, and map files."""

from __future__ import annotations

from pathlib import Path

import pytest

from predscope.exceptions import ImportFormatError
from predscope.formats.coco_mapping import (
    ObjectTarget,
    UnitTarget,
    load_map_file,
    match_categories,
    match_images,
    normalise_name,
)

OBJECTS = [
    ObjectTarget("h-person", "Person", "bounding_box"),
    ObjectTarget("h-light", "traffic light", "bounding_box"),
    ObjectTarget("h-bin-box", "Bin", "bounding_box"),
    ObjectTarget("h-bin-poly", "Bin", "polygon"),
    ObjectTarget("h-audio", "dog", "audio"),
]

UNITS = [
    UnitTarget("d1", "train/a.jpg", 640, 480),
    UnitTarget("d2", "val/a.jpg", 640, 480),
    UnitTarget("d3", "b.png", 100, 50),
    UnitTarget("g1", "group", 10, 10, frame=0),
    UnitTarget("g1", "group", 10, 10, frame=1),
]


def test_normalise_name_ignores_case_and_separators() -> None:
    assert normalise_name("Traffic-Light") == normalise_name("traffic_light") == "trafficlight"
    assert normalise_name("a b") != normalise_name("ab c")


def test_categories_exact_then_normalised() -> None:
    report = match_categories([(1, "Person"), (2, "person"), (3, "Traffic_Light")], OBJECTS)
    hows = [
        (m.coco_id, m.how, m.target.feature_hash if m.target else None) for m in report.categories
    ]
    assert hows == [
        (1, "exact", "h-person"),
        (2, "normalised", "h-person"),
        (3, "normalised", "h-light"),
    ]
    assert report.counts()["categories_matched"] == 3


def test_categories_unmatched_ambiguous_and_unimportable_shape() -> None:
    report = match_categories([(1, "Bin"), ("x", "dog"), (7, "cat")], OBJECTS)
    by_id = {m.coco_id: m for m in report.categories}
    assert by_id[1].how == "ambiguous" and "polygon" in by_id[1].reason
    # An audio object cannot receive COCO geometry, so "dog" matches nothing.
    assert by_id["x"].how == "none"
    assert by_id[7].how == "none"
    assert [m.coco_id for m in report.unmatched_categories] == [1, "x", 7]
    assert report.category_targets() == {}


def test_category_map_by_id_or_name_to_hash_or_title() -> None:
    cmap = {"1": "h-bin-poly", "cat": "person"}
    report = match_categories([(1, "Bin"), (7, "cat")], OBJECTS, category_map=cmap)
    targets = report.category_targets()
    assert targets[1].feature_hash == "h-bin-poly"
    assert targets[7].feature_hash == "h-person"
    assert {m.how for m in report.categories} == {"map"}


def test_category_map_to_unknown_object_is_an_error() -> None:
    with pytest.raises(ImportFormatError, match="category 1.*'nothing'"):
        match_categories([(1, "Bin")], OBJECTS, category_map={"1": "nothing"}, map_source="m.csv")


def test_images_path_then_basename_then_ambiguous() -> None:
    report = match_images([(1, "train/a.jpg"), (2, "./b.png"), (3, "x/b.png"), (4, "a.jpg")], UNITS)
    by_id = {m.coco_id: m for m in report.images}
    assert by_id[1].how == "path" and by_id[1].target is not None
    assert by_id[1].target.data_hash == "d1"
    assert by_id[2].how == "path"
    assert by_id[3].how == "basename" and by_id[3].target is not None
    assert by_id[3].target.data_hash == "d3"
    assert by_id[4].how == "ambiguous"
    assert report.counts() == {
        "categories_matched": 0,
        "categories_unmatched": 0,
        "images_matched": 3,
        "images_unmatched": 1,
    }


def test_images_map_hash_title_and_group_frame() -> None:
    imap = {"4": "d2", "c.jpg": "b.png", "9": "g1:1"}
    report = match_images([(4, "a.jpg"), (5, "c.jpg"), (9, "z")], UNITS, image_map=imap)
    targets = report.image_targets()
    assert targets[4].data_hash == "d2"
    assert targets[5].data_hash == "d3"
    assert (targets[9].data_hash, targets[9].frame) == ("g1", 1)


def test_images_map_to_unknown_unit_is_an_error() -> None:
    with pytest.raises(ImportFormatError, match="image 4"):
        match_images([(4, "a.jpg")], UNITS, image_map={"4": "nope"})


def test_stem_matching_only_when_asked() -> None:
    assert match_images([(1, "b")], UNITS).images[0].how == "none"
    matched = match_images([(1, "b")], UNITS, match_stem=True).images[0]
    assert matched.how == "stem" and matched.target is not None and matched.target.data_hash == "d3"


def test_load_map_file_json_and_csv(tmp_path: Path) -> None:
    js = tmp_path / "m.json"
    js.write_text('{"1": "h-person", "2": 5}')
    assert load_map_file(js) == {"1": "h-person", "2": "5"}
    pairs = tmp_path / "p.json"
    pairs.write_text('[[1, "a"], ["b", "c"]]')
    assert load_map_file(pairs) == {"1": "a", "b": "c"}
    csv = tmp_path / "m.csv"
    csv.write_text("coco_id,target\n1,Person\n# comment\n\n2, traffic light\n")
    assert load_map_file(csv) == {"1": "Person", "2": "traffic light"}
    tsv = tmp_path / "m.tsv"
    tsv.write_text("a.jpg\td1\n")
    assert load_map_file(tsv) == {"a.jpg": "d1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ('{"1": ', "line 1 column"),
        ('{"1": [1]}', "not a string"),
        ("a,b,c\n", "expected 2 columns"),
        ("42", "expected 2 columns"),
    ],
)
def test_load_map_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.map"
    path.write_text(text)
    with pytest.raises(ImportFormatError, match=message) as info:
        load_map_file(path)
    assert str(path) in str(info.value)


def test_same_titled_objects_told_apart_by_geometry() -> None:
    from predscope.formats.coco_mapping import shape_preference

    boxes = shape_preference(bbox=True, polygon=False, rle=False, keypoints=False)
    masks = shape_preference(bbox=True, polygon=True, rle=True, keypoints=False)
    assert boxes[0] == "bounding_box" and masks[:2] == ("bitmask", "polygon")
    report = match_categories([(1, "Bin"), (2, "bin")], OBJECTS, prefer={1: boxes, 2: masks})
    assert [m.target.feature_hash if m.target else None for m in report.categories] == [
        "h-bin-box",
        "h-bin-poly",
    ]
    assert [m.how for m in report.categories] == ["exact", "normalised"]
    # Without geometry (a category with no annotations) the choice stays ambiguous.
    assert match_categories([(1, "Bin")], OBJECTS, prefer={1: ()}).categories[0].how == "ambiguous"


def test_empty_map_value_leaves_unmatched() -> None:
    report = match_categories([(1, "Person")], OBJECTS, category_map={"1": ""})
    assert report.categories[0].target is None and report.categories[0].how == "map"
    images = match_images([(1, "b.png")], UNITS, image_map={"1": ""})
    assert images.images[0].target is None


def test_images_in_other_folders_never_match_by_file_name() -> None:
    """Titles keep folders now (cam1/0001.png); a folder that differs is a different image."""
    units = [
        UnitTarget("c1", "cam1/0001.png", 64, 48),
        UnitTarget("c2", "cam2/0002.png", 64, 48),
        UnitTarget("c3", "cam3/0003.png", 64, 48),
        UnitTarget("c4", "cam4/0003.png", 64, 48),
    ]
    names = [
        (1, "cam1/0001.png"),  # the full relative title
        (2, "0002.png"),  # a bare file name, unambiguous
        (3, "data/cam2/0002.png"),  # a prefix folder before the title's own folders
        (4, "cam9/0001.png"),  # same file name, another folder: not this unit
        (5, "0003.png"),  # bare, but two units have it
    ]
    by_id = {m.coco_id: m for m in match_images(names, units).images}
    assert by_id[1].how == "path" and by_id[1].target is not None
    assert by_id[1].target.data_hash == "c1"
    assert by_id[2].how == "basename" and by_id[2].target is not None
    assert by_id[2].target.data_hash == "c2"
    assert by_id[3].target is not None and by_id[3].target.data_hash == "c2"
    assert by_id[4].how == "none" and by_id[4].target is None
    assert by_id[5].how == "ambiguous"
