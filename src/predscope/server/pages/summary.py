"""The model summary of the selected prediction set, at the IoU threshold the URL names.

Every figure comes from the stored run (``services.analysis``): the COCO summary and per-class
AP as ``predscope metrics`` prints them, counts at the chosen IoU from the stored outcomes, the
operating points behind the confidence slider from the stored match records.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from predscope.server.api.deps import StoreDep, project_of
from predscope.server.pages.common import (
    SetChoice,
    choose_set,
    chrome,
    fmt,
    html,
    iou_of,
    project_path,
    url,
)
from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.operating import operating_points
from predscope.services.query import THRESHOLDS
from predscope.store.records import ProjectRecord
from predscope.ui.charts import (
    Bar,
    Curve,
    bar_chart,
    confidence_histogram,
    pr_curves_chart,
    reliability_diagram,
)
from predscope.ui.render import render_summary
from predscope.ui.views import (
    Card,
    Cell,
    Chart,
    ClassificationView,
    ClassRow,
    Confusion,
    OperatingPoints,
    SummaryView,
    Table,
)

router = APIRouter(include_in_schema=False)
ERROR_ORDER = ("classification", "localisation", "both", "duplicate", "background", "missed")


def explore_link(
    project: ProjectRecord, choice: SetChoice, iou: float, **filters: str | None
) -> str:
    """The explorer's object view with these filters (the summary's counts link here)."""
    params: dict[str, str | None] = {"set": choice.selected, "view": "objects"}
    if choice.against != "main":
        params["against"] = choice.against
    if iou != THRESHOLDS[0]:
        params["iou"] = f"{iou:.2f}"
    params.update(filters)
    return url(project_path(project, "explore"), params)


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _class_rows(
    doc: dict[str, Any],
    points: dict[str, Any],
    project: ProjectRecord,
    choice: SetChoice,
    iou: float,
) -> list[ClassRow]:
    at_t = {c["name"]: c for c in points["classes"]}
    rows = []
    for c in doc.get("classes", []):
        name = c["name"]
        op = at_t.get(name, {"tp": [], "fp": []})
        tp = int(op["tp"][-1]) if op["tp"] else 0
        fp = int(op["fp"][-1]) if op["fp"] else 0
        num_gt = int(c.get("num_gt", 0))
        if iou == THRESHOLDS[0] and c.get("best_f1") is not None:  # the stored operating point
            p, r, f1 = c["best_precision"], c["best_recall"], c["best_f1"]
        else:  # no stored curve at this IoU: every prediction kept
            p, r = _ratio(tp, tp + fp), _ratio(tp, num_gt)
            f1 = 2 * p * r / (p + r) if tp else 0.0
        links = {
            "tp": explore_link(
                project, choice, iou, kind="prediction", outcome="TP", **{"class": name}
            ),
            "fp": explore_link(
                project, choice, iou, kind="prediction", outcome="FP", **{"class": name}
            ),
            "fn": explore_link(
                project, choice, iou, kind="ground_truth", outcome="FN", **{"class": name}
            ),
        }
        ar = c.get("AR100", next((v for k, v in c.items() if k.startswith("AR")), -1.0))
        rows.append(ClassRow(name, c["AP"], ar, p, r, f1, tp, fp, num_gt - tp, num_gt, links))
    return rows


def _confusion(doc: dict[str, Any], project: ProjectRecord, choice: SetChoice) -> Confusion | None:
    cm = doc.get("confusion")
    if not cm:
        return None
    names = tuple(cm["labels"][:-1])
    iou = float(cm.get("iou", 0.5))

    def href(i: int, j: int) -> str | None:
        if i < len(names) and j == i:
            return explore_link(
                project, choice, iou, kind="prediction", outcome="TP", **{"class": names[i]}
            )
        if i == len(names) and j < len(names):  # predictions matching no ground truth
            return explore_link(
                project, choice, iou, kind="prediction", outcome="FP", **{"class": names[j]}
            )
        if j == len(names) and i < len(names):  # ground truth nothing found
            return explore_link(
                project, choice, iou, kind="ground_truth", outcome="FN", **{"class": names[i]}
            )
        if i < len(names) and j < len(names):  # predicted j over a ground truth of class i
            return explore_link(
                project,
                choice,
                iou,
                kind="prediction",
                error="classification",
                **{"class": names[j]},
            )
        return None

    size = len(names) + 1
    hrefs = tuple(tuple(href(i, j) for j in range(size)) for i in range(size))
    counts = tuple(tuple(int(v) for v in row) for row in cm["matrix"])
    return Confusion(names, counts, hrefs)


def _charts(
    doc: dict[str, Any],
    points: dict[str, Any],
    rows: list[ClassRow],
    project: ProjectRecord,
    choice: SetChoice,
    iou: float,
) -> list[Chart]:
    by_name = {c["name"]: c for c in doc.get("classes", [])}
    curves = []
    for pr in doc.get("pr_curves", []):
        c = by_name.get(pr["name"], {})
        pts = pr["points"]
        curves.append(
            Curve(
                pr["name"],
                tuple(v if v is not None else 0.0 for v in pts["recall"]),
                tuple(v if v is not None else 0.0 for v in pts["precision"]),
                c.get("best_threshold"),
                c.get("best_recall"),
                c.get("best_precision"),
                c.get("AP50"),
            )
        )
    charts = [
        Chart(
            "PR curves at IoU 0.5 (circle: F1-optimal threshold)",
            pr_curves_chart(curves, ap_label="AP50"),
        ),
        Chart(
            f"Confidence of TP and FP at IoU {iou:.2f}",
            confidence_histogram(points["tp_scores"], points["fp_scores"], bins=12),
        ),
        Chart(
            "AP per class",
            bar_chart(
                [Bar(r.name, max(r.ap, 0.0), r.links["tp"], f"n={r.support}") for r in rows],
                title="AP per class",
                value_label="AP (IoU 0.50:0.95)",
                domain=(0.0, 1.0),
                testid="ap-per-class",
            ),
        ),
    ]
    errors = doc.get("errors") or {}
    if errors.get("dap"):
        counts = errors.get("counts", {})
        bars = [
            Bar(
                name,
                float(errors["dap"].get(name) or 0.0),
                explore_link(
                    project,
                    choice,
                    THRESHOLDS[0],
                    error=name,
                    kind="ground_truth" if name == "missed" else "prediction",
                ),
                f"n={counts.get(name, 0)}",
            )
            for name in ERROR_ORDER
            if name in errors["dap"]
        ]
        charts.append(
            Chart(
                "Error types (TIDE): AP gained by fixing each",
                bar_chart(bars, title="dAP per error type", value_label="dAP", testid="errors"),
            )
        )
    cal = doc.get("calibration")
    if cal:
        charts.append(
            Chart(
                "Calibration at IoU 0.5",
                reliability_diagram(
                    cal["edges"],
                    [v if v is not None else float("nan") for v in cal["accuracy"]],
                    [v if v is not None else float("nan") for v in cal["mean_confidence"]],
                    cal["count"],
                    ece=cal.get("ece"),
                ),
            )
        )
    return charts


def _classifications(doc: dict[str, Any]) -> tuple[ClassificationView, ...]:
    """The stored radio and checklist figures (``services.analysis.classifications``)."""
    out = []
    for c in doc.get("classifications") or ():
        if not c.get("images_predicted"):
            note = (
                f"this set answers it on no image; {c.get('images_with_ground_truth', 0)} images "
                "have a ground-truth answer"
            )
            out.append(ClassificationView(c["name"], c["kind"], note, None))
            continue
        macro = c["macro"]
        headline = (
            f"{c['images']} images; accuracy {fmt(c['accuracy'])}"
            f"{' (exact set)' if c['kind'] == 'checklist' else ''}; macro precision "
            f"{fmt(macro['precision'])}, recall {fmt(macro['recall'])}, F1 {fmt(macro['f1'])}; "
            f"mAP {fmt(c['mAP'])}"
        )
        per_option = Table(
            f"{c['name']}: per option",
            ("Option", "AP", "Precision", "Recall", "F1", "TP", "FP", "FN", "Support"),
            tuple(
                (
                    Cell(o["name"]),
                    *(Cell(fmt(o[k]), value=o[k]) for k in ("AP", "precision", "recall", "f1")),
                    *(Cell(str(o[k]), value=o[k], kind=k) for k in ("tp", "fp", "fn")),
                    Cell(str(o["support"]), value=o["support"]),
                )
                for o in c["per_class"]
            ),
            numeric=(False, *([True] * 8)),
            testid="classification-options",
        )
        confusion = None
        if c["kind"] == "radio":
            columns = tuple(f"predicted {n}" for n in c["confusion_columns"])
            confusion = Table(
                f"{c['name']}: ground truth (rows) against prediction (columns); (none): no answer",
                ("Ground truth", *columns),
                tuple(
                    (Cell(name), *(Cell(str(n), value=n) for n in counts))
                    for name, counts in zip(c["confusion_rows"], c["confusion"], strict=True)
                ),
                numeric=(False, *([True] * len(columns))),
                testid="classification-confusion",
            )
        out.append(ClassificationView(c["name"], c["kind"], headline, per_option, confusion))
    return tuple(out)


@router.get("/p/{project}/summary", response_class=HTMLResponse)
def summary_page(
    request: Request,
    store: StoreDep,
    project: str,
    set: str | None = None,  # noqa: A002 (the URL's own name)
    against: str | None = None,
    iou: str | None = None,
) -> HTMLResponse:
    record = project_of(store, project)
    choice = choose_set(store, record, set, against)
    frame = chrome(request, record, "Summary", "summary", choice)
    if choice.selected is None:
        view = SummaryView(
            frame, (Card("Prediction sets", "none analysed yet", project_path(record)),), ()
        )
        return html(render_summary(view))
    t = iou_of(iou)
    doc = get_metrics(store, record, choice.selected, against=choice.against)
    points = operating_points(
        store, record, choice.selected, iou_threshold=t, against=choice.against
    )
    rows = _class_rows(doc, points, record, choice, t)
    s = doc["stats"]
    tp = sum(r.tp for r in rows)
    fp = sum(r.fp for r in rows)
    fn = sum(r.fn for r in rows)
    cards = (
        Card("mAP", fmt(s.get("AP")), hint="IoU 0.50:0.95"),
        Card("AP50", fmt(s.get("AP50"))),
        Card("AP75", fmt(s.get("AP75"))),
        Card("mAR", fmt(s.get("AR100", s.get("AR20"))), hint="100 detections"),
        Card("AP small", fmt(s.get("APs"))),
        Card("AP medium", fmt(s.get("APm"))),
        Card("AP large", fmt(s.get("APl"))),
        Card(
            "TP",
            str(tp),
            explore_link(record, choice, t, kind="prediction", outcome="TP"),
            f"at IoU {t:.2f}",
            "tp",
        ),
        Card(
            "FP",
            str(fp),
            explore_link(record, choice, t, kind="prediction", outcome="FP"),
            f"at IoU {t:.2f}",
            "fp",
        ),
        Card(
            "FN",
            str(fn),
            explore_link(record, choice, t, kind="ground_truth", outcome="FN"),
            f"at IoU {t:.2f}",
            "fn",
        ),
    )
    run = doc["run"]
    kind = doc.get("iou_type", "bbox")
    metric = "" if kind == "mixed" else f"{kind} "
    by_shape = (
        " (each class by its shape's metric: "
        + ", ".join(f"{c['name']} {c.get('metric')}" for c in doc.get("classes", []))
        + ")"
        if kind == "mixed"
        else ""
    )
    parameters = (
        f"COCO {metric}evaluation{by_shape} of {doc.get('predictions')} predictions "
        f"against {doc.get('ground_truth')} ground-truth objects on {doc.get('images')} images "
        f"(branch {choice.against!r}); run {run['id']} ({run['mode']}), "
        f"{str(run.get('finished_at', ''))[:19].replace('T', ' ')}, "
        f"engine {run['engine_version']}. "
        "mAP, AP50, AP75, mAR and AP by size are the COCO definition; counts, precision, recall "
        "and F1 are extensions (docs/metrics.md)."
    )
    operating = OperatingPoints(
        iou=t,
        thresholds=tuple(THRESHOLDS),
        cuts=tuple(points["cuts"]),
        classes=tuple(
            (c["name"], c["num_gt"], tuple(c["tp"]), tuple(c["fp"])) for c in points["classes"]
        ),
    )
    view = SummaryView(
        frame,
        cards,
        tuple(rows),
        tuple(_charts(doc, points, rows, record, choice, t)),
        parameters,
        _confusion(doc, record, choice),
        operating,
        _classifications(doc),
    )
    return html(render_summary(view))
