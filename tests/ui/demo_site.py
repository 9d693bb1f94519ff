"""Pages rendered by ``ui.render`` from real data, served by a standard-library HTTP server.

The scikit-image demo photos with the hand-drawn ground truth and three real detectors'
predictions (data/skimage-images), matched by the real evaluation engine at IoU 0.5. The server
sends the UI's Content-Security-Policy on every response; the real app (``predscope serve``)
replaces it later.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.confusion import confusion_matrix
from predscope.evaluation.curves import pr_curves
from predscope.evaluation.outcomes import single_threshold_outcomes
from predscope.evaluation.results import Outcome
from predscope.formats.coco import load_coco_pair
from predscope.objects.bitmask import coco_rle_to_rle_string
from predscope.ui.charts import (
    Bar,
    Curve,
    Delta,
    bar_chart,
    confidence_histogram,
    delta_chart,
    pr_curves_chart,
)
from predscope.ui.render import (
    CONTENT_SECURITY_POLICY,
    STATIC_DIR,
    render_compare,
    render_detail,
    render_explorer,
    render_project,
    render_run,
    render_start,
    render_summary,
)
from predscope.ui.shapes import Box, Mask, OverlayFrame, OverlayObject, Polygon, Shape
from predscope.ui.views import (
    Card,
    Cell,
    Chart,
    Chrome,
    ClassRow,
    CompareView,
    Confusion,
    DetailView,
    ExplorerView,
    FilterField,
    Link,
    OntologyItem,
    ProjectCard,
    ProjectView,
    RunView,
    SetOption,
    Slider,
    StartView,
    SummaryView,
    Table,
    Tile,
    VideoFrame,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"
SETS = {
    "mediapipe": "pred_mediapipe_0.10.21.json",
    "opencv": "pred_opencv_haar_hog.json",
    "rapidocr": "pred_rapidocr_1.4.4.json",
}
OUTCOME = {int(Outcome.TP): "tp", int(Outcome.FP): "fp", int(Outcome.IGNORED): "ignored"}


@dataclass(frozen=True)
class DemoSet:
    """One prediction set over the demo photos: overlay frames per image, and the evaluation."""

    name: str
    images: tuple[dict[str, Any], ...]
    frames: dict[int, OverlayFrame]
    fp_count: int
    scores: tuple[float, ...]


def _shape(ann: dict[str, Any]) -> Shape:
    seg = ann.get("segmentation")
    if isinstance(seg, dict):
        rle, h, w = coco_rle_to_rle_string(seg)
        return Mask.from_rle_string(rle, h, w)
    if isinstance(seg, list) and seg and ann.get("category_id") == 3:
        rings = tuple(
            tuple((float(r[i]), float(r[i + 1])) for i in range(0, len(r), 2)) for r in seg
        )
        return Polygon(rings)
    x, y, w, h = ann["bbox"]
    return Box(x, y, w, h)


@cache
def demo_set(name: str) -> DemoSet:
    gt_doc = json.loads((DATA / "demo_ground_truth.json").read_text())
    dt_doc = json.loads((DATA / SETS[name]).read_text())
    gt, dt = load_coco_pair(str(DATA / "demo_ground_truth.json"), str(DATA / SETS[name]))
    out = single_threshold_outcomes(gt, dt, 0.5)
    classes = {c["id"]: c["name"] for c in gt_doc["categories"]}
    gt_rows = {a: i for i, a in enumerate(gt.annotation_ids)}
    per_image: dict[int, list[OverlayObject]] = {im["id"]: [] for im in gt_doc["images"]}
    gt_id = {i: f"g{a['id']}" for i, a in enumerate(gt_doc["annotations"])}
    for i, ann in enumerate(gt_doc["annotations"]):
        row = gt_rows[ann["id"]]
        by = int(out.gt_matched_by[row])
        per_image[ann["image_id"]].append(
            OverlayObject(
                gt_id[i],
                "gt",
                _shape(ann),
                classes[ann["category_id"]],
                "tp" if by >= 0 else "fn",
                partner_id=f"d{by}" if by >= 0 else None,
            )
        )
    for j, ann in enumerate(dt_doc):
        m = int(out.matched_gt[j])
        per_image[ann["image_id"]].append(
            OverlayObject(
                f"d{j}",
                "pred",
                _shape(ann),
                classes[ann["category_id"]],
                OUTCOME.get(int(out.outcome[j])),  # type: ignore[arg-type]
                float(ann["score"]),
                iou=None if m < 0 else float(out.iou[j]),
                error=None if m >= 0 else "no ground truth of this class overlaps at IoU 0.5",
                partner_id=None if m < 0 else f"g{gt.annotation_ids[m]}",
            )
        )
    images = tuple(gt_doc["images"])
    frames = {
        im["id"]: OverlayFrame(im["width"], im["height"], tuple(per_image[im["id"]]))
        for im in images
    }
    fp = int((out.outcome == int(Outcome.FP)).sum())
    return DemoSet(name, images, frames, fp, tuple(float(a["score"]) for a in dt_doc))


def _chrome(title: str, current: str, set_name: str, path: str) -> Chrome:
    q = urlencode({"set": set_name})
    nav = (
        Link("Summary", f"/summary?{q}", current == "summary"),
        Link("Explorer", f"/explorer?{q}", current == "explorer"),
    )
    options = tuple(
        SetOption(k, f"{k} ({v.removeprefix('pred_').removesuffix('.json')})")
        for k, v in SETS.items()
    )
    return Chrome(title, "skimage demo", nav, options, set_name, path)


def explorer_page(set_name: str) -> str:
    ds = demo_set(set_name)
    tiles = tuple(
        Tile(
            str(im["id"]),
            im["file_name"],
            f"/media/{im['file_name']}",
            ds.frames[im["id"]],
            f"/unit/{im['id']}?{urlencode({'set': set_name})}",
        )
        for im in ds.images
    )
    objects = tuple(o for f in ds.frames.values() for o in f.objects)
    classes = sorted({o.class_name for o in objects})
    fields = (
        FilterField("class", "Class", "select", tuple((c, c) for c in classes)),
        FilterField("outcome", "Outcome", "multi", (("tp", "TP"), ("fp", "FP"), ("fn", "FN"))),
        FilterField("iou", "IoU at least", "number", minimum=0, maximum=1, step=0.05),
    )
    return render_explorer(
        ExplorerView(
            _chrome("Explorer", "explorer", set_name, "/explorer"),
            tiles,
            Slider.for_objects(objects),
            len(tiles),
            fields=fields,
            reset_href=f"/explorer?{urlencode({'set': set_name})}",
        )
    )


def patches_page(set_name: str, outcome: str) -> str:
    """One crop tile per object with this outcome (FiftyOne's "evaluation patches")."""
    ds = demo_set(set_name)
    q = urlencode({"set": set_name})
    tiles = tuple(
        Tile(
            str(im["id"]),
            f"{o.class_name} in {im['file_name']}",
            f"/media/{im['file_name']}",
            ds.frames[im["id"]],
            f"/unit/{im['id']}?{q}",
            focus=o.object_id,
        )
        for im in ds.images
        for o in ds.frames[im["id"]].objects
        if o.outcome == outcome
    )
    objects = tuple(o for t in tiles for o in t.frame.objects)
    chrome = _chrome("Patches", "explorer", set_name, "/patches")
    slider = Slider.for_objects(objects)
    nouns = ("object", "objects")
    return render_explorer(ExplorerView(chrome, tiles, slider, len(tiles), noun=nouns))


def detail_page(set_name: str, image_id: int) -> str:
    ds = demo_set(set_name)
    ids = [im["id"] for im in ds.images]
    k = ids.index(image_id)
    im = ds.images[k]
    q = urlencode({"set": set_name})

    def href(i: int) -> str:
        return f"/unit/{ids[i]}?{q}"

    frame = ds.frames[image_id]
    return render_detail(
        DetailView(
            _chrome(im["file_name"], "explorer", set_name, f"/unit/{image_id}"),
            str(image_id),
            im["file_name"],
            f"/media/{im['file_name']}",
            frame,
            Slider.for_objects(frame.objects),
            f"/explorer?{q}",
            href(k - 1) if k > 0 else None,
            href(k + 1) if k + 1 < len(ids) else None,
            position=f"{k + 1} of {len(ids)}",
        )
    )


def video_page(set_name: str) -> str:
    """A 'video' of the two 512x512 photos (astronaut, camera) as frames 0 and 1."""
    ds = demo_set(set_name)
    frames = tuple(
        VideoFrame(i, f"/media/{name}", ds.frames[image_id])
        for i, (image_id, name) in enumerate(((1, "astronaut.png"), (7, "camera.png")))
    )
    objects = tuple(o for f in frames for o in f.frame.objects)
    return render_detail(
        DetailView(
            _chrome("clip", "explorer", set_name, "/video"),
            "clip",
            "clip (2 frames)",
            frames[0].image_url,
            frames[0].frame,
            Slider.for_objects(objects),
            "/explorer",
            frames=frames,
        )
    )


def summary_page(set_name: str) -> str:
    gt, dt = load_coco_pair(str(DATA / "demo_ground_truth.json"), str(DATA / SETS[set_name]))
    ev = evaluate_coco(gt, dt)
    out = single_threshold_outcomes(gt, dt, 0.5)
    s = ev.stats
    q = {"set": set_name}
    counts = {
        "tp": int((out.outcome == int(Outcome.TP)).sum()),
        "fp": int((out.outcome == int(Outcome.FP)).sum()),
        "fn": int(out.gt_missed.sum()),
    }
    cards = (
        Card("mAP", f"{s['AP']:.3f}", hint="IoU 0.50:0.95"),
        Card("AP50", f"{s['AP50']:.3f}"),
        Card("AP75", f"{s['AP75']:.3f}"),
        Card("mAR", f"{s['AR100']:.3f}", hint="100 detections"),
        *(
            Card(k.upper(), str(v), f"/explorer?{urlencode({**q, 'outcome': k})}", "at IoU 0.5", k)
            for k, v in counts.items()
        ),
    )
    curves = pr_curves(ev, 0.5)
    rows = []
    for c in ev.per_class:
        k = gt.category_ids.index(c.category_id)
        det = dt.category == k
        tp = int(((out.outcome == int(Outcome.TP)) & det).sum())
        fp = int(((out.outcome == int(Outcome.FP)) & det).sum())
        fn = int((out.gt_missed & (gt.category == k)).sum())
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / c.num_gt if c.num_gt else float("nan")
        f1 = 2 * p * r / (p + r) if tp else 0.0
        links = {
            o: f"/explorer?{urlencode({**q, 'class': c.name, 'outcome': o})}"
            for o in ("tp", "fp", "fn")
        }
        rows.append(ClassRow(c.name, c.ap, c.ar, p, r, f1, tp, fp, fn, c.num_gt, links))
    chart_curves = [
        Curve(
            c.name,
            tuple(c.recall.tolist()),
            tuple(c.precision.tolist()),
            c.best_threshold,
            c.best_recall,
            c.best_precision,
            ev.per_class[i].ap50,
        )
        for i, c in enumerate(curves)
    ]
    tp_scores = dt.score[out.outcome == int(Outcome.TP)].tolist()
    fp_scores = dt.score[out.outcome == int(Outcome.FP)].tolist()
    charts = (
        Chart("PR curves at IoU 0.5", pr_curves_chart(chart_curves)),
        Chart("Confidence: TP vs FP", confidence_histogram(tp_scores, fp_scores, bins=8)),
        Chart(
            "AP per class",
            bar_chart(
                [Bar(r.name, r.ap, r.links["tp"]) for r in rows],
                title="AP per class",
                value_label="AP (IoU 0.50:0.95)",
                domain=(0.0, 1.0),
                testid="ap-per-class",
            ),
        ),
    )
    cm = confusion_matrix(gt, dt, 0.5)
    names = cm.labels[:-1]
    confusion = Confusion(
        names,
        tuple(tuple(int(v) for v in row) for row in cm.matrix),
        tuple(
            tuple(f"/explorer?{urlencode({**q, 'gt': a, 'pred': b})}" for b in (*names, "(none)"))
            for a in (*names, "(none)")
        ),
    )
    return render_summary(
        SummaryView(
            _chrome("Summary", "summary", set_name, "/summary"),
            cards,
            tuple(rows),
            charts,
            "COCO bbox evaluation, IoU 0.50:0.95, 100 detections per image; counts at IoU 0.5.",
            confusion,
        )
    )


def start_page() -> str:
    branches = tuple(Link(k, f"/explorer?set={k}") for k in SETS)
    sets = tuple(Link(k, f"/summary?set={k}") for k in SETS)
    card = ProjectCard(
        "skimage demo",
        "/project",
        8,
        (Link("main", "/project"), *branches),
        sets,
        "scikit-image sample photos, hand-drawn faces, persons and text lines",
    )
    return render_start(StartView(Chrome("Projects"), (card,)))


def project_page() -> str:
    onto = json.loads((DATA / "demo_ontology.json").read_text())
    items = tuple(
        OntologyItem(
            o["name"], o["shape"], o["color"], tuple(a["name"] for a in o.get("attributes", ()))
        )
        for o in onto["objects"]
    )
    gt_doc = json.loads((DATA / "demo_ground_truth.json").read_text())
    per_image: dict[int, int] = {}
    for a in gt_doc["annotations"]:
        per_image[a["image_id"]] = per_image.get(a["image_id"], 0) + 1
    units = tuple(
        (
            Cell(im["file_name"], f"/unit/{im['id']}?set=opencv"),
            Cell(f"{im['width']}×{im['height']}", value=im["width"] * im["height"]),
            Cell(str(per_image.get(im["id"], 0)), value=per_image.get(im["id"], 0)),
        )
        for im in gt_doc["images"]
    )
    branch_rows = [
        (Cell("main"), Cell(str(len(gt_doc["annotations"])), value=len(gt_doc["annotations"])))
    ]
    for k, f in SETS.items():
        n = len(json.loads((DATA / f).read_text()))
        branch_rows.append((Cell(k, f"/summary?set={k}"), Cell(str(n), value=n)))
    tables = (
        Table("Branches", ("Branch", "Objects"), tuple(branch_rows), (False, True), "branches"),
        Table("Data units", ("Title", "Size", "GT objects"), units, (False, True, True), "units"),
    )
    cards = (
        Card("Data units", "8"),
        Card("Branches", str(len(SETS) + 1)),
        Card("Classes", str(len(items))),
    )
    return render_project(ProjectView(Chrome("Project", "skimage demo"), cards, items, tables))


def compare_page(a: str, b: str) -> str:
    """Per-class AP deltas and the ground-truth objects whose outcome changed from A to B."""
    evs = {}
    for name in (a, b):
        gt, dt = load_coco_pair(str(DATA / "demo_ground_truth.json"), str(DATA / SETS[name]))
        evs[name] = {c.name: c.ap for c in evaluate_coco(gt, dt).per_class}
    deltas = [Delta(k, evs[b][k] - evs[a][k], href=f"/summary?set={b}") for k in evs[a]]
    before = {
        o.object_id: (o, im)
        for im, f in demo_set(a).frames.items()
        for o in f.objects
        if o.layer == "gt"
    }
    changed = []
    for im, f in demo_set(b).frames.items():
        for o in f.objects:
            old = before.get(o.object_id)
            if o.layer == "gt" and old and old[0].outcome != o.outcome:
                changed.append(
                    (
                        Cell(o.object_id, f"/unit/{im}?set={b}"),
                        Cell(o.class_name),
                        Cell((old[0].outcome or "").upper(), kind=old[0].outcome or ""),
                        Cell((o.outcome or "").upper(), kind=o.outcome or ""),
                    )
                )
    table = Table(
        f"Ground truth whose outcome changed ({len(changed)})",
        ("Object", "Class", a, b),
        tuple(changed),
        testid="changed",
    )
    cards = (
        Card("Classes better", str(sum(d.delta > 0 for d in deltas))),
        Card("Classes worse", str(sum(d.delta < 0 for d in deltas))),
        Card("Objects changed", str(len(changed))),
    )
    chart = Chart("AP per class, B - A", delta_chart(deltas, title=f"AP {b} - {a}"))
    chrome = _chrome("Compare", "summary", b, "/compare")
    return render_compare(CompareView(chrome, a, b, cards, (chart,), (table,)))


_POLLS: dict[str, int] = {}
_POLL_LOCK = threading.Lock()
RUN_STEPS = 4


def run_status(run_id: str) -> dict[str, object]:
    """A stand-in run: each poll advances one step; run "bad" fails at step 2."""
    with _POLL_LOCK:
        n = _POLLS[run_id] = _POLLS.get(run_id, -1) + 1
    if run_id == "bad" and n >= 2:
        return {
            "state": "failed",
            "done": 2,
            "total": RUN_STEPS,
            "stage": "matching",
            "message": "ImportFormatError: $.annotations[3].bbox: expected 4 numbers, got 3",
            "result_href": None,
        }
    if n >= RUN_STEPS:
        return {
            "state": "done",
            "done": RUN_STEPS,
            "total": RUN_STEPS,
            "stage": "done",
            "message": "",
            "result_href": "/summary?set=opencv",
        }
    return {
        "state": "running",
        "done": n,
        "total": RUN_STEPS,
        "stage": "matching",
        "message": "",
        "result_href": None,
    }


def run_page(run_id: str) -> str:
    view = RunView(
        Chrome("Analysis run", "skimage demo"),
        f"Analysing {run_id}",
        f"/runs/{run_id}/status",
        rerun_action=f"/runs/{run_id}/again",
    )
    return render_run(view)


def route(path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
    """(status, content type, body) for one request."""
    set_name = query.get("set", ["opencv"])[0]
    if set_name not in SETS:
        return 404, "text/plain", b"no such set"
    if path.startswith("/static/") or path.startswith("/media/"):
        folder = STATIC_DIR if path.startswith("/static/") else DATA / "images"
        name = path.split("/", 2)[2]
        files = {p.name: p for p in folder.iterdir() if p.is_file()}  # by listing, never by path
        if name not in files:
            return 404, "text/plain", b"not found"
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".js"):
            ctype = "text/javascript"
        return 200, ctype, files[name].read_bytes()
    if path.startswith("/runs/") and path.endswith("/status"):
        body = json.dumps(run_status(path.split("/")[2])).encode()
        return 200, "application/json", body
    pages = {
        "/run": lambda: run_page(query.get("id", ["ok"])[0]),
        "/": start_page,
        "/project": project_page,
        "/compare": lambda: compare_page(query.get("a", ["opencv"])[0], set_name),
        "/explorer": lambda: explorer_page(set_name),
        "/summary": lambda: summary_page(set_name),
        "/video": lambda: video_page(set_name),
        "/patches": lambda: patches_page(set_name, query.get("outcome", ["fp"])[0]),
    }
    if path in pages:
        return 200, "text/html; charset=utf-8", pages[path]().encode()
    if path.startswith("/unit/") and path[6:].isdigit():
        image_id = int(path[6:])
        if image_id in demo_set(set_name).frames:
            return 200, "text/html; charset=utf-8", detail_page(set_name, image_id).encode()
    if path == "/favicon.ico":
        return 204, "image/x-icon", b""
    return 404, "text/plain", b"not found"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        status, ctype, body = route(url.path, parse_qs(url.query))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@contextmanager
def serve() -> Iterator[str]:
    """Serve the demo pages on a free loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def fp_count(set_name: str) -> int:
    return demo_set(set_name).fp_count


def scores(set_name: str) -> np.ndarray:
    return np.asarray(demo_set(set_name).scores)
