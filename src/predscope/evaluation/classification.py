"""Metrics for radio (single-label) and checklist (multi-label) classifications.

Ground truth and predictions are joined by key, never by position: Encord Active once paired two
CSVs by row order and scored the wrong images. A key is whatever the caller groups by, usually
``(data_hash, frame)`` for per-frame metrics or ``data_hash`` for per-data-unit metrics. A key
present on one side only still counts: GT without a prediction is a miss, a prediction without GT is
a false alarm. Rates whose denominator is 0 are 0.0 (sklearn's ``zero_division=0``).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from predscope.exceptions import EvaluationError

NONE_LABEL = "(none)"
IntArray = npt.NDArray[np.int64]


def average_precision(
    relevant: npt.ArrayLike, scores: npt.ArrayLike, n_positives: int | None = None
) -> float:
    """sum_n (R_n - R_{n-1}) P_n over descending distinct score thresholds, like sklearn's AP.

    ``relevant``/``scores`` describe the ranked items; ``n_positives`` (default: relevant items) is
    the recall denominator, so positives that were never ranked lower the reachable recall. NaN when
    there are no positives.
    """
    rel = np.asarray(relevant, dtype=np.bool_).reshape(-1)
    sc = np.asarray(scores, dtype=np.float64).reshape(-1)
    if rel.shape != sc.shape:
        raise EvaluationError(
            f"average precision: {rel.shape[0]} relevance flags for {sc.shape[0]} scores"
        )
    if not np.all(np.isfinite(sc)):
        raise EvaluationError(
            "average precision: a score is NaN or infinite - pass finite confidences"
        )
    positives = int(rel.sum()) if n_positives is None else int(n_positives)
    if positives < int(rel.sum()):
        raise EvaluationError(
            f"average precision: n_positives={positives} is below the {int(rel.sum())} relevant "
            "ranked items"
        )
    if positives == 0:
        return float("nan")
    order = np.argsort(-sc, kind="stable")
    rel, sc = rel[order], sc[order]
    last = (
        np.concatenate((np.nonzero(np.diff(sc))[0], [sc.shape[0] - 1]))
        if sc.size
        else np.zeros(0, np.int64)
    )
    tp = np.cumsum(rel)[last].astype(np.float64)
    precision = tp / (last + 1.0)
    recall = tp / positives
    return float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))


@dataclass(frozen=True)
class ClassMetrics:
    """One class (one option of the radio or checklist)."""

    name: str
    tp: int
    fp: int
    fn: int
    tn: int
    support: int
    """GT occurrences of the class."""
    precision: float
    recall: float
    f1: float
    average_precision: float
    """Over the class's predicted confidences; NaN without GT, or if a prediction of it has no
    score.
    """


@dataclass(frozen=True)
class ClassificationResult:
    """Accuracy, per-class and averaged metrics, and the confusion matrix.

    Radio: ``confusion[i, j]`` counts keys with GT ``confusion_rows[i]`` and prediction
    ``confusion_columns[j]``; the last row is "(none)" (prediction without GT) and the last column
    is "(none)" (GT without prediction). Checklist: ``confusion[c]`` is class c's ``[[tn, fp], [fn,
    tp]]``.
    """

    kind: Literal["radio", "checklist"]
    classes: tuple[str, ...]
    n_keys: int
    accuracy: float
    """Radio: matching keys / all keys. Checklist: keys whose predicted set equals the GT set / all
    keys.
    """
    per_class: tuple[ClassMetrics, ...]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    mean_average_precision: float
    confusion: IntArray
    confusion_rows: tuple[str, ...]
    confusion_columns: tuple[str, ...]


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _resolve_classes(seen: set[str], classes: Sequence[str] | None) -> tuple[str, ...]:
    if classes is None:
        out = tuple(sorted(seen))
    else:
        out = tuple(classes)
        if len(set(out)) != len(out):
            raise EvaluationError(
                "classification: argument 'classes' lists a class twice - pass each class once"
            )
        unknown = sorted(seen - set(out))
        if unknown:
            raise EvaluationError(
                f"classification: labels {unknown[:5]} are not in argument 'classes' - add them "
                "or fix the labels"
            )
    if NONE_LABEL in out:
        raise EvaluationError(
            f"classification: a class is named {NONE_LABEL!r}, which is reserved for 'no answer'"
        )
    return out


def _check_label(side: str, key: Hashable, label: object) -> str:
    if not isinstance(label, str):
        raise EvaluationError(
            f"classification: {side}[{key!r}] is {label!r}, expected an option name (str)"
        )
    return label


def _class_ap(
    name: str,
    keys: Sequence[Hashable],
    predicted: Mapping[Hashable, Collection[str]],
    gt: Mapping[Hashable, Collection[str]],
    scores: Mapping[Hashable, Mapping[str, float | None]] | None,
) -> float:
    positives = sum(1 for k in keys if name in gt.get(k, ()))
    if scores is None or positives == 0:
        return float("nan")
    rel: list[bool] = []
    sc: list[float] = []
    for k in keys:
        if name in predicted.get(k, ()):
            s = scores.get(k, {}).get(name)
            if s is None:
                return float("nan")
            rel.append(name in gt.get(k, ()))
            sc.append(float(s))
    return average_precision(rel, sc, positives)


def _summarise(
    kind: Literal["radio", "checklist"],
    names: tuple[str, ...],
    counts: list[tuple[int, int, int, int]],
    aps: list[float],
    n_keys: int,
    correct: int,
    confusion: IntArray,
    rows: tuple[str, ...],
    cols: tuple[str, ...],
) -> ClassificationResult:
    per_class = []
    for name, (tp, fp, fn, tn), ap in zip(names, counts, aps, strict=True):
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        per_class.append(ClassMetrics(name, tp, fp, fn, tn, tp + fn, p, r, _f1(p, r), ap))
    n = len(per_class)
    support = np.array([c.support for c in per_class], dtype=np.float64)
    total = float(support.sum())

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if n else 0.0

    def weighted(values: list[float]) -> float:
        return float(np.dot(values, support) / total) if total else 0.0

    stp = sum(c.tp for c in per_class)
    mp = _ratio(stp, stp + sum(c.fp for c in per_class))
    mr = _ratio(stp, stp + sum(c.fn for c in per_class))
    defined = [a for a in aps if not np.isnan(a)]
    confusion.setflags(write=False)
    return ClassificationResult(
        kind=kind,
        classes=names,
        n_keys=n_keys,
        accuracy=_ratio(correct, n_keys),
        per_class=tuple(per_class),
        macro_precision=mean([c.precision for c in per_class]),
        macro_recall=mean([c.recall for c in per_class]),
        macro_f1=mean([c.f1 for c in per_class]),
        weighted_precision=weighted([c.precision for c in per_class]),
        weighted_recall=weighted([c.recall for c in per_class]),
        weighted_f1=weighted([c.f1 for c in per_class]),
        micro_precision=mp,
        micro_recall=mr,
        micro_f1=_f1(mp, mr),
        mean_average_precision=float(np.mean(defined)) if defined else float("nan"),
        confusion=confusion,
        confusion_rows=rows,
        confusion_columns=cols,
    )


def evaluate_radio(
    gt: Mapping[Hashable, str],
    predictions: Mapping[Hashable, str],
    scores: Mapping[Hashable, float | None] | None = None,
    classes: Sequence[str] | None = None,
) -> ClassificationResult:
    """Single-label metrics; ``scores[key]`` is the confidence of the predicted answer (None: no
    score).
    """
    seen = {_check_label("gt", k, v) for k, v in gt.items()}
    seen |= {_check_label("predictions", k, v) for k, v in predictions.items()}
    if scores is not None:
        extra = [k for k in scores if k not in predictions]
        if extra:
            raise EvaluationError(
                f"classification: scores[{extra[0]!r}] has no prediction - drop it or add one"
            )
    names = _resolve_classes(seen, classes)
    index = {name: i for i, name in enumerate(names)}
    none = len(names)
    keys = list(dict.fromkeys([*gt, *predictions]))
    confusion = np.zeros((none + 1, none + 1), dtype=np.int64)
    for k in keys:
        confusion[
            index[gt[k]] if k in gt else none, index[predictions[k]] if k in predictions else none
        ] += 1
    counts = []
    for i in range(none):
        tp = int(confusion[i, i])
        fp = int(confusion[:, i].sum()) - tp
        fn = int(confusion[i, :].sum()) - tp
        counts.append((tp, fp, fn, len(keys) - tp - fp - fn))
    gt_sets = {k: (v,) for k, v in gt.items()}
    pred_sets = {k: (v,) for k, v in predictions.items()}
    score_sets = None if scores is None else {k: {predictions[k]: s} for k, s in scores.items()}
    aps = [_class_ap(name, keys, pred_sets, gt_sets, score_sets) for name in names]
    labels = (*names, NONE_LABEL)
    return _summarise(
        "radio", names, counts, aps, len(keys), int(np.trace(confusion)), confusion, labels, labels
    )


def evaluate_checklist(
    gt: Mapping[Hashable, Collection[str]],
    predictions: Mapping[Hashable, Collection[str]],
    scores: Mapping[Hashable, Mapping[str, float | None]] | None = None,
    classes: Sequence[str] | None = None,
) -> ClassificationResult:
    """Multi-label metrics; an absent key means "nothing ticked"; ``scores[key][label]`` per ticked
    label.
    """
    sets: list[dict[Hashable, frozenset[str]]] = []
    for side, mapping in (("gt", gt), ("predictions", predictions)):
        out: dict[Hashable, frozenset[str]] = {}
        for k, labels in mapping.items():
            if isinstance(labels, str) or not isinstance(labels, Collection):
                raise EvaluationError(
                    f"classification: {side}[{k!r}] is {labels!r}, expected a collection of "
                    "option names"
                )
            out[k] = frozenset(_check_label(side, k, v) for v in labels)
        sets.append(out)
    gt_sets, pred_sets = sets
    seen = set().union(*gt_sets.values(), *pred_sets.values())
    names = _resolve_classes(seen, classes)
    keys = list(dict.fromkeys([*gt_sets, *pred_sets]))
    empty: frozenset[str] = frozenset()
    confusion = np.zeros((len(names), 2, 2), dtype=np.int64)
    for i, name in enumerate(names):
        for k in keys:
            confusion[
                i, int(name in gt_sets.get(k, empty)), int(name in pred_sets.get(k, empty))
            ] += 1
    counts = [(int(m[1, 1]), int(m[0, 1]), int(m[1, 0]), int(m[0, 0])) for m in confusion]
    correct = sum(1 for k in keys if gt_sets.get(k, empty) == pred_sets.get(k, empty))
    aps = [_class_ap(name, keys, pred_sets, gt_sets, scores) for name in names]
    return _summarise(
        "checklist",
        names,
        counts,
        aps,
        len(keys),
        correct,
        confusion,
        ("negative", "positive"),
        ("negative", "positive"),
    )
