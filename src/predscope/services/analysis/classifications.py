"""Frame-level classification metrics of a run: every top-level radio and checklist
classification of the ontology, ground truth against predictions (``evaluation.classification``).

A key is one evaluated image, (data unit, frame), as for objects: an answer on a video frame range
counts on each frame of it. An image with an answer on one side only still counts (a miss or a
false alarm). The score of a predicted answer is its classification instance's confidence. Text
classifications and nested answers are not scored. Rows are read as stored JSON, only those that
hold classifications, so a project without any pays nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from predscope.evaluation.classification import (
    ClassificationResult,
    evaluate_checklist,
    evaluate_radio,
)
from predscope.formats.row_geometry import frame_entries
from predscope.services.analysis.inputs import FrameTable
from predscope.store import label_rows as row_repo
from predscope.store.records import ListedRow

Key = tuple[str, int]
_CHUNK = 500


@dataclass(frozen=True)
class _Question:
    """A top-level radio or checklist classification: its hash, title, kind and options."""

    feature_hash: str
    attribute_hash: str  # the top-level attribute, whose answers are scored
    title: str
    kind: str  # "radio" or "checklist"
    options: dict[str, str]  # option feature hash -> label, in ontology order


def questions(ontology: Mapping[str, Any]) -> list[_Question]:
    """The ontology's scorable classifications, in ontology order."""
    out = []
    for c in ontology.get("classifications") or ():
        attributes = c.get("attributes") or ()
        first = attributes[0] if attributes else {}
        if first.get("type") not in ("radio", "checklist"):
            continue
        options = {
            str(o.get("featureNodeHash")): str(o.get("label") or o.get("value"))
            for o in first.get("options") or ()
        }
        title = str(first.get("name") or c.get("featureNodeHash"))
        out.append(
            _Question(
                str(c.get("featureNodeHash")),
                str(first.get("featureNodeHash")),
                title,
                first["type"],
                options,
            )
        )
    return out


@dataclass
class _Side:
    """Answers of one branch: per question, key -> {label: confidence}."""

    answers: dict[str, dict[Key, dict[str, float | None]]]


def _read(
    conn: Connection,
    records: Sequence[ListedRow],
    frames: FrameTable,
    wanted: Mapping[str, _Question],
) -> _Side:
    side = _Side({h: {} for h in wanted})
    present = [r for r in records if r.label_hash is not None and r.classification_count]
    for start in range(0, len(present), _CHUNK):
        part = present[start : start + _CHUNK]
        documents = row_repo.load_documents(conn, [str(r.label_hash) for r in part])
        for record in part:
            document = documents.get(str(record.label_hash)) or {}
            _collect(side, record, document, frames, wanted)
    return side


def _labels(answer: Mapping[str, Any] | None, question: _Question) -> list[str]:
    """The option labels an answer entry ticks (radio: one)."""
    if not isinstance(answer, Mapping):
        return []
    out = []
    for item in answer.get("classifications") or ():  # the top-level answer and nested ones
        if not isinstance(item, Mapping) or item.get("featureHash") != question.attribute_hash:
            continue
        for option in item.get("answers") or ():
            if isinstance(option, Mapping):
                label = question.options.get(str(option.get("featureHash")))
                if label is not None:
                    out.append(label)
    return out


def _collect(
    side: _Side,
    record: ListedRow,
    document: Mapping[str, Any],
    frames: FrameTable,
    wanted: Mapping[str, _Question],
) -> None:
    answers = document.get("classification_answers") or {}
    unit = record.unit
    for unit_doc in (document.get("data_units") or {}).values():
        for frame, labels in frame_entries(unit_doc, unit.data_type):
            key = (unit.data_hash, frame)
            if key not in frames.index:
                continue
            for entry in labels.get("classifications") or ():
                question = wanted.get(str(entry.get("featureHash")))
                if question is None:
                    continue
                ticked = _labels(answers.get(entry.get("classificationHash")), question)
                confidence = entry.get("confidence")
                score = float(confidence) if isinstance(confidence, int | float) else None
                given = side.answers[question.feature_hash].setdefault(key, {})
                for label in ticked:
                    given[label] = score


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _document(
    question: _Question, result: ClassificationResult, answered: tuple[int, int]
) -> dict[str, Any]:
    return {
        "name": question.title,
        "feature_hash": question.feature_hash,
        "kind": result.kind,
        "images": result.n_keys,
        "images_with_ground_truth": answered[0],
        "images_predicted": answered[1],
        "accuracy": result.accuracy,
        "macro": {"precision": result.macro_precision, "recall": result.macro_recall,
                  "f1": result.macro_f1},
        "micro": {"precision": result.micro_precision, "recall": result.micro_recall,
                  "f1": result.micro_f1},
        "weighted": {"precision": result.weighted_precision, "recall": result.weighted_recall,
                     "f1": result.weighted_f1},
        "mAP": _finite(result.mean_average_precision),
        "per_class": [
            {"name": c.name, "tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn,
             "support": c.support, "precision": c.precision, "recall": c.recall, "f1": c.f1,
             "AP": _finite(c.average_precision)}
            for c in result.per_class
        ],
        "confusion": result.confusion.tolist(),
        "confusion_rows": list(result.confusion_rows),
        "confusion_columns": list(result.confusion_columns),
    }  # fmt: skip


def classification_metrics(
    conn: Connection,
    ontology: Mapping[str, Any],
    gt_records: Iterable[ListedRow],
    pred_records: Iterable[ListedRow],
    frames: FrameTable,
) -> list[dict[str, Any]]:
    """One document per scorable classification that either branch answers on some image."""
    wanted = {q.feature_hash: q for q in questions(ontology)}
    if not wanted:
        return []
    gt = _read(conn, list(gt_records), frames, wanted)
    pred = _read(conn, list(pred_records), frames, wanted)
    out = []
    for feature_hash, question in wanted.items():
        g, p = gt.answers[feature_hash], pred.answers[feature_hash]
        if not g and not p:
            continue
        classes = list(question.options.values())
        if question.kind == "radio":
            result = evaluate_radio(
                {k: next(iter(v)) for k, v in g.items() if v},
                {k: next(iter(v)) for k, v in p.items() if v},
                {k: next(iter(v.values())) for k, v in p.items() if v},
                classes=classes,
            )
        else:
            result = evaluate_checklist(
                {k: tuple(v) for k, v in g.items()},
                {k: tuple(v) for k, v in p.items()},
                {k: dict(v) for k, v in p.items()},
                classes=classes,
            )
        out.append(_document(question, result, (len(g), len(p))))
    return out
