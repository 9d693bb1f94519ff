"""Overlay SVG: every shape kind drawn, styles told apart by colour and line, test attributes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageDraw

from predscope.objects.bitmask import encode_rle_string
from predscope.ui.overlays import STYLES, crop_box, crop_svg, line_style, mask_path, overlay_svg
from predscope.ui.shapes import (
    Box,
    Keypoint,
    Mask,
    OverlayFrame,
    OverlayObject,
    Polygon,
    Polyline,
    RotatedBox,
    Skeleton,
)


def _svg(*objects: OverlayObject, w: int = 100, h: int = 80) -> ET.Element:
    return ET.fromstring(overlay_svg(OverlayFrame(w, h, objects)))


def _objects(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter("g") if "obj" in g.get("class", "").split()]


def _raster(d: str, h: int, w: int) -> np.ndarray:
    """Fill an H/V-only path (even-odd) by scanning pixel centres: independent of mask_path."""
    import re

    loops, x, y, pts = [], 0, 0, []
    for cmd, a, b in re.findall(r"([MHVZ])(-?\d*)(?: (-?\d+))?", d):
        if cmd == "M":
            x, y, pts = int(a), int(b), [(int(a), int(b))]
        elif cmd == "H":
            x = int(a)
            pts.append((x, y))
        elif cmd == "V":
            y = int(a)
            pts.append((x, y))
        else:
            loops.append(pts)
    out = np.zeros((h, w), dtype=bool)
    for pts in loops:
        ring = pts + [pts[0]]
        for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
            if x0 == x1 and y0 != y1:  # vertical edge toggles every pixel right of it
                lo, hi = sorted((y0, y1))
                out[lo:hi, x0:] ^= True
    return out


def test_every_object_carries_the_attributes_the_ui_and_tests_select_on() -> None:
    root = _svg(
        OverlayObject("g1", "gt", Box(10, 10, 20, 30), "car", "tp", partner_id="p1"),
        OverlayObject("p1", "pred", Box(11, 12, 20, 30), "car", "tp", 0.91234, iou=0.8),
        OverlayObject("p2", "pred", Box(50, 5, 10, 10), "dog", "fp", 0.3),
        OverlayObject("g2", "gt", Box(60, 40, 10, 10), "dog", "fn"),
    )
    assert root.get("viewBox") == "0 0 100 80"
    layers = [g.get("data-layer") for g in root if g.tag == "g"]
    assert layers == ["gt", "pred"], "ground truth is drawn under the predictions"
    objs = {g.get("data-testid"): g for g in _objects(root)}
    assert set(objs) == {"obj-g1", "obj-p1", "obj-p2", "obj-g2"}
    p1 = objs["obj-p1"]
    assert (p1.get("data-outcome"), p1.get("data-score"), p1.get("data-class")) == (
        "tp",
        "0.91234",
        "car",
    )
    assert p1.get("data-layer") == "pred"
    assert "data-score" not in objs["obj-g1"].attrib
    assert objs["obj-g1"].get("data-partner") == "p1"
    labels = {k: g.find("text").text for k, g in objs.items()}  # type: ignore[union-attr]
    assert labels == {
        "obj-g1": "car",
        "obj-p1": "TP car 0.9123",
        "obj-p2": "FP dog 0.3",
        "obj-g2": "FN dog",
    }
    title = p1.find("title")
    assert title is not None and "IoU 0.80" in (title.text or "")


def test_outcomes_differ_by_line_style_not_only_by_colour() -> None:
    """Colour-blind users tell every layer/outcome pair apart by dash pattern or width."""
    shown = [("gt", "tp"), ("gt", "fn"), ("pred", "tp"), ("pred", "fp")]
    assert len({(STYLES[k].dash, STYLES[k].width) for k in shown}) == 4
    assert len({STYLES[k].colour for k in shown}) == 3  # TP green on both layers
    assert STYLES[("gt", "tp")].dash is None and STYLES[("gt", "fn")].dash is None
    assert STYLES[("pred", "tp")].dash and STYLES[("pred", "fp")].dash
    root = _svg(
        OverlayObject("a", "gt", Box(1, 1, 5, 5), "x", "fn"),
        OverlayObject("b", "pred", Box(1, 1, 5, 5), "x", "fp", 0.5),
    )
    gt, pred = (g.find("rect") for g in _objects(root))
    assert gt is not None and pred is not None
    assert gt.get("stroke") == "#ff9f1c" and gt.get("stroke-dasharray") is None
    assert pred.get("stroke") == "#ff3b30" and pred.get("stroke-dasharray") == "2 3"
    assert pred.get("vector-effect") == "non-scaling-stroke"


def test_unanalysed_objects_keep_layer_colours() -> None:
    o = OverlayObject("a", "pred", Box(0, 0, 1, 1), "x", None, 0.2)
    assert line_style(o) == STYLES[("pred", "none")]
    root = _svg(o)
    (g,) = _objects(root)
    assert "data-outcome" not in g.attrib and "outcome-none" in g.get("class", "")


def test_rotated_box_turns_about_its_centre() -> None:
    root = _svg(OverlayObject("r", "gt", RotatedBox(10, 20, 40, 10, 30), "ship"))
    rect = root.find(".//rect")
    assert rect is not None
    assert rect.get("transform") == "rotate(30 30 25)"
    assert (rect.get("x"), rect.get("width")) == ("10", "40")


def test_polygon_with_a_hole_is_one_even_odd_path() -> None:
    outer = ((0.0, 0.0), (50.0, 0.0), (50.0, 50.0), (0.0, 50.0))
    hole = ((10.0, 10.0), (20.0, 10.0), (20.0, 20.5))
    root = _svg(OverlayObject("p", "pred", Polygon((outer, hole)), "lake", "fp", 0.7))
    path = root.find(".//path")
    assert path is not None
    assert path.get("fill-rule") == "evenodd"
    assert path.get("d") == "M0 0L50 0L50 50L0 50ZM10 10L20 10L20 20.5Z"


def test_polyline_and_skeleton_draw_points_and_visible_edges_only() -> None:
    line = OverlayObject("l", "gt", Polyline(((0, 0), (5, 5), (9, 1))), "lane")
    pts = (Keypoint(1, 1, "head"), Keypoint(2, 5, "hip"), Keypoint(9, 9, "knee", visible=False))
    skel = OverlayObject("s", "pred", Skeleton(pts, ((0, 1), (1, 2), (0, 7))), "person", "tp", 0.8)
    root = _svg(line, skel)
    polyline = root.find(".//polyline")
    assert polyline is not None and polyline.get("points") == "0,0 5,5 9,1"
    assert polyline.get("fill") == "none"
    skeleton = root.find(".//g[@class='shape skeleton']")
    assert skeleton is not None
    lines = skeleton.findall("line")
    assert [(ln.get("x1"), ln.get("y2")) for ln in lines] == [("1", "5")]  # hidden knee: no edge
    circles = skeleton.findall("circle")
    assert [c.get("fill") for c in circles] == ["currentColor", "currentColor", "none"]
    assert circles[0].find("title").text == "head"  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", range(6))
def test_mask_path_traces_exactly_the_mask(seed: int) -> None:
    """Random blobs with holes and corner-touching pixels: the path fills exactly the mask."""
    rng = np.random.default_rng(seed)
    grid = rng.random((23, 31)) < (0.25 + 0.1 * seed)
    d = mask_path(grid)
    assert d.count("M") == d.count("Z")
    assert np.array_equal(_raster(d, 23, 31), grid)


def test_mask_path_of_a_ring_has_an_outer_loop_and_a_hole() -> None:
    grid = np.ones((5, 5), dtype=bool)
    grid[1:4, 1:4] = False
    grid[2, 2] = True  # an island inside the hole
    d = mask_path(grid)
    assert d.count("M") == 3
    assert d.startswith("M0 0H5V5H0Z") or "M0 0H5V5H0Z" in d
    assert np.array_equal(_raster(d, 5, 5), grid)


def test_bitmask_from_an_encord_rle_string_round_trips() -> None:
    img = Image.new("1", (40, 30))
    ImageDraw.Draw(img).ellipse((5, 4, 30, 25), fill=1)
    grid = np.array(img, dtype=bool)
    mask = Mask.from_rle_string(encode_rle_string(grid), 30, 40)
    assert np.array_equal(mask.to_array(), grid)
    assert Mask.from_array(grid) == mask
    root = _svg(OverlayObject("m", "pred", mask, "person", "tp", 0.98), w=40, h=30)
    path = root.find(".//path")
    assert path is not None and "mask" in path.get("class", "")
    assert np.array_equal(_raster(path.get("d", ""), 30, 40), grid)
    label = root.find(".//text")
    assert label is not None and float(label.get("x", "0")) == 6  # label at the mask's extent


def test_text_is_escaped() -> None:
    root = _svg(OverlayObject('a"<b>', "gt", Box(0, 0, 1, 1), "<script>&"))
    (g,) = _objects(root)
    assert g.get("data-class") == "<script>&"
    assert g.get("data-testid") == 'obj-a"<b>'
    assert g.find("text").text == "<script>&"  # type: ignore[union-attr]


def test_empty_frame_still_has_both_layers() -> None:
    root = _svg()
    assert [g.get("data-layer") for g in root] == ["gt", "pred"]
    assert root.get("aria-label") == "0 ground-truth and 0 predicted objects"


def test_crop_box_grows_the_object_and_stays_in_the_image() -> None:
    frame = OverlayFrame(100, 80)
    assert crop_box(frame, Box(40, 30, 20, 10), 0.25, min_size=0) == Box(35, 27.5, 30, 15)
    assert crop_box(frame, Box(40, 30, 20, 10), 0.25) == Box(34, 19, 32, 32)  # at least 32 px
    edge = crop_box(frame, Box(90, 70, 10, 10), 0.5, min_size=0)
    assert (edge.x + edge.w, edge.y + edge.h) == (100, 80)  # shifted back inside
    big = crop_box(frame, Box(0, 0, 100, 80), 0.5)
    assert big == Box(0, 0, 100, 80)


def test_crop_svg_zooms_to_the_focus_object_over_the_image() -> None:
    objs = (
        OverlayObject("a", "gt", Box(10, 10, 40, 40), "car", "tp"),
        OverlayObject("b", "pred", Box(12, 12, 40, 40), "car", "tp", 0.9),
        OverlayObject("c", "pred", Box(70, 50, 8, 8), "car", "fp", 0.4),
        OverlayObject("d", "gt", Box(80, 60, 15, 15), "car", "fn"),  # overlaps the crop
    )
    root = ET.fromstring(crop_svg(OverlayFrame(100, 80, objs), "/m/1", "c", margin=0.5))
    assert root.get("viewBox") == "58 38 32 32"  # min size 32 around the 8 px box at (74, 54)
    image = root.find("image")
    assert image is not None and image.get("href") == "/m/1" and image.get("width") == "100"
    classes = {g.get("data-object"): g.get("class", "") for g in _objects(root)}
    assert "focus" in classes["c"].split() and "focus" not in classes["d"]
    assert set(classes) == {"c", "d"}  # what lies outside the crop is not drawn at all
    assert root.get("aria-label") == "FP car 0.4, cropped"
    with pytest.raises(KeyError):
        crop_svg(OverlayFrame(100, 80, objs), "/m/1", "nope")
