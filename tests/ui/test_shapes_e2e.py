"""Every shape drawn in a real browser, and a video scrubbed frame by frame, over a real server.

A project of its own: one photo holding ground truth and a prediction of each shape the ontology
knows (box, rotated box, polygon with a hole, bitmask with a hole, polyline, skeleton, point),
and a real video (encoded here with PyAV) whose moving square is labelled in every frame and
predicted in some. The prediction branch is analysed, so what is drawn carries stored outcomes;
the page must show each shape where its coordinates say, with the API's outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.classification import Classification
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
)
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.analysis.runs import analyse
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import open_store
from predscope.ui.overlays import STYLES
from tests.server.live import DATA, live_server
from tests.services.analysis.analysis_fixtures import HAND_NODES, hand_template
from tests.ui.conftest import wait_until

pytestmark = pytest.mark.e2e

PHOTO = DATA / "images" / "astronaut.png"  # 512 x 512
SIZE = 512
VIDEO_W, VIDEO_H, VIDEO_FRAMES = 160, 120, 4
SHAPES = {
    "box": "bounding_box",
    "tilted": "rotatable_bounding_box",
    "region": "polygon",
    "blob": "bitmask",
    "lane": "polyline",
    "hand": "skeleton",
    "spot": "point",
}
NODES = HAND_NODES
SCENES = ("photo", "synthetic")
# The radio classification "scene", per unit: (ground truth, prediction or None).
SCENE_ANSWERS = {
    "astronaut.png": ("photo", "photo"),
    "square.mp4": ("synthetic", "photo"),
    "long.mp4": ("synthetic", None),
}


def _ontology() -> dict[str, Any]:
    objects = [
        {"id": str(i + 1), "name": n, "color": "#00AAFF", "shape": s, "featureNodeHash": f"fh-{n}"}
        for i, (n, s) in enumerate(SHAPES.items())
    ]
    options = [
        {"id": f"8.1.{i}", "label": v, "value": v, "featureNodeHash": f"opt-{v}", "options": []}
        for i, v in enumerate(SCENES, 1)
    ]
    scene = {
        "id": "8",
        "featureNodeHash": "cls-scene",
        "attributes": [
            {"id": "8.1", "name": "scene", "type": "radio", "featureNodeHash": "attr-scene",
             "required": False, "options": options}
        ],
    }  # fmt: skip
    return {
        "objects": objects,
        "classifications": [scene],
        "skeleton_templates": [{"template": hand_template()}],
    }


def _ring(*xy: tuple[float, float]) -> list[PointCoordinate]:
    return [PointCoordinate(x / SIZE, y / SIZE) for x, y in xy]


def _square(x0: float, y0: float, x1: float, y1: float) -> list[PointCoordinate]:
    return _ring((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _blob() -> np.ndarray:
    """A 100 x 100 square at (350, 300) with a 50 x 50 hole in its middle."""
    grid = np.zeros((SIZE, SIZE), dtype=bool)
    grid[300:400, 350:450] = True
    grid[325:375, 375:425] = False
    return grid


def _photo_shapes(shift: float) -> dict[str, Any]:
    """Pixel geometry of each shape (``shift`` pixels right for the prediction)."""
    s = shift / SIZE
    return {
        "box": BoundingBoxCoordinates(100 / SIZE, 100 / SIZE, 50 / SIZE + s, 50 / SIZE),
        "tilted": RotatableBoundingBoxCoordinates(
            height=40 / SIZE,
            width=120 / SIZE,
            top_left_x=220 / SIZE + s,
            top_left_y=60 / SIZE,
            theta=30.0,
        ),  # fmt: skip
        "region": PolygonCoordinates(
            polygons=[[_square(50 + shift, 250, 200 + shift, 400), _square(100, 300, 150, 350)]]
        ),
        "blob": BitmaskCoordinates(np.roll(_blob(), int(shift), axis=1)),
        "lane": PolylineCoordinates(values=_ring((250 + shift, 460), (350, 440), (480, 490))),
        "hand": SkeletonCoordinates(
            values=[
                SkeletonCoordinate(
                    (380 + 20 * k + shift) / SIZE,
                    (150 + 10 * k) / SIZE,
                    n,
                    feature_hash=f"kp{k}",
                    visibility="visible",
                )
                for k, n in enumerate(NODES)
            ],
            name="hand",
        ),  # fmt: skip
        "spot": PointCoordinate(470 / SIZE, 40 / SIZE),
    }


def _square_at(frame: int) -> tuple[int, int]:
    """Top-left corner of the video's 30 x 30 white square in ``frame``."""
    return 10 + 35 * frame, 20 + 10 * frame


def _video(path: Path, frames: int = VIDEO_FRAMES) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height = VIDEO_W, VIDEO_H
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            img = np.full((VIDEO_H, VIDEO_W, 3), 40, dtype=np.uint8)
            x, y = _square_at(i % VIDEO_FRAMES)
            img[y : y + 30, x : x + 30] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _frame_box(frame: int, dx: float = 0.0) -> BoundingBoxCoordinates:
    x, y = _square_at(frame)
    return BoundingBoxCoordinates(30 / VIDEO_H, 30 / VIDEO_W, (x + dx) / VIDEO_W, y / VIDEO_H)


PREDICTED_FRAMES = (0, 1, 3)  # frame 2's square is missed; frame 3 also has a false box
LONG_FRAMES, LONG_LABELLED = 320, (0, 150, 319)  # past the detail page's 300: it carries these


def _build(location: str, root: Path) -> dict[str, Any]:
    with open_store(location) as store:
        project = create_project(store, "shapes", _ontology())
        long = _video(root / "long.mp4", LONG_FRAMES)
        add_data(store, project, [PHOTO, _video(root / "square.mp4"), long])
        ontology = OntologyStructure.from_dict(project.ontology)
        hashes: dict[str, dict[str, str]] = {"gt": {}, "pred": {}}
        video: dict[str, list[tuple[int, str]]] = {"gt": [], "pred": []}
        for branch, layer, shift in (("main", "gt", 0.0), ("model", "pred", 4.0)):
            listed = list_label_rows(store, project, ontology, branch_name=branch)
            rows = {r.data_title: r for r in listed}
            for row in rows.values():
                row.initialise_labels()
            photo, clip, long_clip = rows["astronaut.png"], rows["square.mp4"], rows["long.mp4"]
            for name, coords in _photo_shapes(shift).items():
                inst = ontology.get_child_by_title(name, type_=Object).create_instance()
                inst.set_for_frames(coords, frames=0, confidence=0.9 if layer == "pred" else 1.0)
                photo.add_object_instance(inst)
                hashes[layer][name] = inst.object_hash
            box = ontology.get_child_by_title("box", type_=Object)
            frames = range(VIDEO_FRAMES) if layer == "gt" else PREDICTED_FRAMES
            for i in frames:
                inst = box.create_instance()
                inst.set_for_frames(_frame_box(i, shift / 4), frames=i, confidence=0.8)
                clip.add_object_instance(inst)
                video[layer].append((i, inst.object_hash))
            for i in LONG_LABELLED if layer == "gt" else LONG_LABELLED[1:2]:
                inst = box.create_instance()
                inst.set_for_frames(_frame_box(i % VIDEO_FRAMES), frames=i, confidence=0.8)
                long_clip.add_object_instance(inst)
            if layer == "pred":  # a false box in the empty corner of the last frame
                inst = box.create_instance()
                inst.set_for_frames(
                    BoundingBoxCoordinates(0.1, 0.1, 0.85, 0.85), frames=3, confidence=0.7
                )
                clip.add_object_instance(inst)
                video["pred"].append((3, inst.object_hash))
                fp = inst.object_hash
            scene = ontology.get_child_by_title("scene", type_=Classification)
            for title, answers in SCENE_ANSWERS.items():
                answer = answers[0] if layer == "gt" else answers[1]
                if answer is not None:
                    inst = scene.create_instance()
                    inst.set_answer(scene.attributes[0].options[SCENES.index(answer)])
                    inst.set_for_frames(frames=0, confidence=0.9 if layer == "pred" else 1.0)
                    rows[title].add_classification_instance(inst)
            for row in rows.values():
                row.save()
        analyse(store, project, "model")
        return {"project": project.project_hash, "hashes": hashes, "video": video, "fp": fp}


class Shapes:
    def __init__(self, url: str, built: dict[str, Any], http: httpx.Client) -> None:
        self.url, self.http = url, http
        self.project: str = built["project"]
        self.hashes: dict[str, dict[str, str]] = built["hashes"]
        self.video: dict[str, list[tuple[int, str]]] = built["video"]
        self.fp: str = built["fp"]
        units = self.api("/data-units", limit=10)["items"]
        self.units = {u["data_title"]: u["data_hash"] for u in units}

    def api(self, rest: str, **params: Any) -> Any:
        response = self.http.get(f"/api/projects/{self.project}{rest}", params=params)
        response.raise_for_status()
        return response.json()

    def detail(self, title: str, rest: str = "") -> str:
        return f"{self.url}/p/{self.project}/units/{self.units[title]}?set=model{rest}"

    def outcomes(self, title: str, kind: str) -> dict[str, str]:
        items = self.api(
            "/branches/model/objects", data_hash=self.units[title], kind=kind, limit=100
        )["items"]
        return {i["object_hash"]: i["outcome"].lower() for i in items}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shapes]:
    root = tmp_path_factory.mktemp("ui-shapes")
    store = str(root / "store")
    built = _build(store, root)
    with live_server(store, root / "server-tmp") as server, server.client() as http:
        yield Shapes(server.url, built, http)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")


def _obj(page: Any, object_hash: str) -> Any:
    return page.locator(f"[data-testid='overlay'] [data-testid='obj-{object_hash}']")


def _bbox(locator: Any) -> list[float]:
    """The drawn element's extent in image pixels (SVG user units), as the browser computed it."""
    box = locator.evaluate("e => { const b = e.getBBox(); return [b.x, b.y, b.width, b.height]; }")
    return [round(v, 1) for v in box]


# Per drawn outline: its object's layer and outcome, and the stroke the browser paints.
STROKES = """els => els.map(e => {
  const g = e.closest("g.obj");
  return [g.dataset.layer, g.dataset.outcome, getComputedStyle(e).stroke,
          e.getAttribute("stroke-dasharray"), Number(e.getAttribute("stroke-width"))];
})"""


def _rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _in_fill(locator: Any, x: float, y: float) -> bool:
    return bool(locator.evaluate(f"e => e.isPointInFill(new DOMPoint({x}, {y}))"))


def test_every_shape_is_drawn_where_its_coordinates_say(page: Any, shapes: Shapes) -> None:
    _open(page, shapes.detail("astronaut.png"))
    gt = {name: _obj(page, h) for name, h in shapes.hashes["gt"].items()}
    for name, g in gt.items():
        assert g.count() == 1 and g.get_attribute("data-class") == name
        assert g.is_visible(), name
    assert _bbox(gt["box"].locator("rect.shape")) == [50, 50, 100, 100]
    tilted = gt["tilted"].locator("rect.shape")
    assert _bbox(tilted) == [220, 60, 120, 40]  # its own frame, turned about its centre
    assert tilted.get_attribute("transform") == "rotate(30 280 80)"
    # the polygon and the bitmask have holes: their centres are outside the filled shape
    region = gt["region"].locator("path.shape")
    assert _bbox(region) == [50, 250, 150, 150]
    assert _in_fill(region, 70, 270) and not _in_fill(region, 125, 325)
    blob = gt["blob"].locator("path.shape.mask")
    assert _bbox(blob) == [350, 300, 100, 100]
    assert _in_fill(blob, 360, 310) and not _in_fill(blob, 400, 350)
    assert round(blob.evaluate("e => e.getTotalLength()")) == 4 * 100 + 4 * 50  # both outlines
    lane = gt["lane"].locator("polyline.shape")
    assert lane.evaluate("e => e.points.length") == 3 and _bbox(lane) == [250, 440, 230, 50]
    hand = gt["hand"].locator("g.shape.skeleton")
    assert hand.locator("circle.keypoint").count() == len(NODES)
    assert hand.locator("line").count() == len(NODES) - 1
    assert _bbox(gt["spot"].locator("circle.keypoint")) == [467, 37, 6, 6]  # r = 3
    # predictions: the same shapes, dashed, with the outcome the analysis stored
    stored = shapes.outcomes("astronaut.png", "prediction")
    for name, h in shapes.hashes["pred"].items():
        p = _obj(page, h)
        assert p.count() == 1 and "pred" in (p.get_attribute("class") or ""), name
        assert p.get_attribute("data-outcome") == stored.get(h), name
        label = p.locator("text.label").text_content()
        assert label == (f"TP {name} 0.9" if name != "spot" else "spot 0.9"), label
        strokes = p.locator("[stroke]:not(text)")
        assert strokes.count() == p.locator("[stroke-dasharray]:not(text)").count() > 0, name
    evaluated = set(SHAPES) - {"spot"}  # a point class is drawn, not measured
    assert {n for n, h in shapes.hashes["pred"].items() if stored.get(h) == "tp"} == evaluated
    rows = page.locator("[data-testid='object-table'] tbody tr[data-object]").count()
    assert rows == page.locator("[data-testid='overlay'] g.obj").count() == 2 * len(SHAPES)


def test_a_video_scrubs_through_its_frames_with_their_overlays(page: Any, shapes: Shapes) -> None:
    _open(page, shapes.detail("square.mp4"))
    scrubber = page.locator("[data-testid='frame-scrubber']")
    assert scrubber.get_attribute("max") == str(VIDEO_FRAMES - 1)
    gt = shapes.outcomes("square.mp4", "ground_truth")
    pred = shapes.outcomes("square.mp4", "prediction")
    seen: set[tuple[str, str]] = set()
    for i in range(VIDEO_FRAMES):
        scrubber.fill(str(i))
        shown = page.locator(f"[data-frame='{i}'].frame-overlay")
        wait_until(page, f"!document.querySelector(\"[data-frame='{i}'].frame-overlay\").hidden")
        assert page.locator(".frame-overlay:not([hidden])").count() == 1
        image = page.locator("[data-testid='frame-image']")
        assert image.get_attribute("src").endswith(f"frame={i}")
        wait_until(page, "document.querySelector(\"[data-testid='frame-image']\").complete")
        assert image.evaluate("e => [e.naturalWidth, e.naturalHeight]") == [VIDEO_W, VIDEO_H]
        want = {h: gt[h] for f, h in shapes.video["gt"] if f == i}
        want |= {h: pred[h] for f, h in shapes.video["pred"] if f == i}
        drawn = shown.locator("g.obj").evaluate_all(
            "els => Object.fromEntries(els.map(e => [e.dataset.object, e.dataset.outcome]))"
        )
        assert drawn == want, i
        # GT solid, predictions dashed; TP green, FP red dots, FN orange and thicker
        for layer, outcome, stroke, dash, width in shown.locator("g.obj .shape").evaluate_all(
            STROKES
        ):
            style = STYLES[(layer, outcome)]
            assert (stroke, dash, width) == (_rgb(style.colour), style.dash, style.width)
            seen.add((layer, outcome))
        # the object table follows the frame
        rows = page.locator("[data-testid='object-table'] tbody tr[data-object]:visible")
        assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.object)")) == sorted(want)
        assert (
            page.locator("[data-testid='object-table'] caption").inner_text().endswith(f"frame {i}")
        )
    assert seen == {("gt", "tp"), ("gt", "fn"), ("pred", "tp"), ("pred", "fp")}
    missed = next(h for f, h in shapes.video["gt"] if f == 2)
    assert gt[missed] == "fn" and pred[shapes.fp] == "fp"
    labels = {
        h: page.locator(f"[data-testid='obj-{h}'] text.label").text_content()
        for h in (missed, shapes.fp)
    }
    assert labels == {missed: "FN box", shapes.fp: "FP box 0.7"}  # outcome, class, confidence
    square = page.locator(f"[data-frame='3'] [data-testid='obj-{shapes.fp}'] rect")
    assert _bbox(square) == [136, 102, 16, 12]  # 0.85 .. 0.95 of 160 x 120
    # the keys step the frames and the URL keeps the frame
    page.keyboard.press(",")
    assert page.locator("[data-testid='frame-value']").inner_text() == "2"
    assert page.url.endswith("frame=2")
    page.keyboard.press(".")
    page.keyboard.press(".")  # past the last frame: stays there
    assert scrubber.input_value() == "3"
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert scrubber.input_value() == "3"
    assert page.locator("[data-frame='3'].frame-overlay").is_visible()


def test_a_long_video_scrubs_through_the_frames_that_hold_objects(
    page: Any, shapes: Shapes
) -> None:
    """Past 300 frames the page carries the frames with objects: the slider walks those, and the
    URL, the readout and the image name the real frame."""
    _open(page, shapes.detail("long.mp4", "&frame=150"))
    scrubber = page.locator("[data-testid='frame-scrubber']")
    value = page.locator("[data-testid='frame-value']")
    assert scrubber.get_attribute("max") == str(len(LONG_LABELLED) - 1)
    assert scrubber.input_value() == "1" and value.inner_text() == "150"
    assert page.locator("[data-frame='150'].frame-overlay").is_visible()
    scrubber.fill("2")
    wait_until(page, "!document.querySelector(\"[data-frame='319'].frame-overlay\").hidden")
    assert value.inner_text() == "319" and page.url.endswith("frame=319")
    image = page.locator("[data-testid='frame-image']")
    assert image.get_attribute("src").endswith("frame=319")
    wait_until(page, "document.querySelector(\"[data-testid='frame-image']\").complete")
    assert image.evaluate("e => e.naturalWidth") == VIDEO_W
    caption = page.locator("[data-testid='object-table'] caption")
    assert caption.inner_text() == "Objects in frame 319"
    shown = page.locator("[data-testid='object-table'] tbody tr[data-object]:visible")
    assert shown.evaluate_all("els => els.map(e => e.dataset.outcome)") == ["fn"]
    page.keyboard.press(",")
    assert value.inner_text() == "150" and page.url.endswith("frame=150")
    drawn = page.locator("[data-frame='150'].frame-overlay g.obj")
    assert sorted(drawn.evaluate_all("els => els.map(e => e.dataset.outcome)")) == ["tp", "tp"]


def test_the_summary_shows_the_classification_the_set_answers(page: Any, shapes: Shapes) -> None:
    doc = shapes.api("/branches/model/metrics")
    (scene,) = doc["classifications"]
    assert scene["name"] == "scene" and scene["images_predicted"] == 2
    _open(page, f"{shapes.url}/p/{shapes.project}/summary?set=model")
    section = page.locator("[data-testid='classification'][data-name='scene']")
    headline = section.locator("[data-testid='classification-headline']").inner_text()
    assert f"{scene['images']} images; accuracy {scene['accuracy']:.3f}" in headline
    rows = section.locator("[data-testid='classification-options'] tbody tr")
    shown = {
        r.locator("td").first.inner_text(): [c.inner_text() for c in r.locator("td").all()[5:8]]
        for r in rows.all()
    }
    want = {o["name"]: [str(o["tp"]), str(o["fp"]), str(o["fn"])] for o in scene["per_class"]}
    assert shown == want
    cells = section.locator("[data-testid='classification-confusion'] tbody td[data-value]")
    total = sum(int(v) for v in cells.evaluate_all("els => els.map(e => e.dataset.value)"))
    assert total == sum(sum(r) for r in scene["confusion"]) == scene["images"]
