"""YOLO text labels: both dialects on the Padilla sample, and every kind of bad line."""

from __future__ import annotations

from pathlib import Path

import pytest

from predscope.exceptions import ImportFormatError
from predscope.formats.yolo import parse_yolo_text, read_class_names, read_yolo_dir

DATA = Path(__file__).resolve().parents[2] / "data" / "padilla-voc-sample-7"


def _absolute(folder: str, with_score: bool) -> dict[str, list[tuple[float, ...]]]:
    out: dict[str, list[tuple[float, ...]]] = {}
    for path in sorted((DATA / folder).glob("*.txt")):
        rows = []
        for line in path.read_text().splitlines():
            fields = line.split()
            if fields:
                rows.append(tuple(float(v) for v in fields[1:]))
        out[path.stem] = rows
    return out


def test_padilla_relative_ground_truth_matches_absolute_pixels() -> None:
    files = read_yolo_dir(DATA / "groundtruths_rel", class_mode="name", score_column="none")
    assert [f.image_key for f in files] == [f"0000{i}" for i in range(1, 8)]
    absolute = _absolute("groundtruths", with_score=False)
    total = 0
    for f in files:
        assert len(f.boxes) == len(absolute[f.image_key])
        for box, (x, y, w, h) in zip(f.boxes, absolute[f.image_key], strict=True):
            assert box.label == "person" and box.score is None
            assert box.x * 200 == pytest.approx(x, abs=1e-9)
            assert box.y * 200 == pytest.approx(y, abs=1e-9)
            assert box.w * 200 == pytest.approx(w, abs=1e-9)
            assert box.h * 200 == pytest.approx(h, abs=1e-9)
            total += 1
    assert total == 15


def test_padilla_relative_detections_score_in_second_column() -> None:
    files = read_yolo_dir(DATA / "detections_rel", class_mode="name", score_column="second")
    absolute = _absolute("detections", with_score=True)
    boxes = [(f.image_key, b) for f in files for b in f.boxes]
    assert len(boxes) == 24
    for key, rows in absolute.items():
        got = [b for k, b in boxes if k == key]
        for box, (score, x, y, w, h) in zip(got, rows, strict=True):
            assert box.score == score  # kept exactly as written (".88" -> 0.88)
            assert (box.x, box.y, box.w, box.h) == pytest.approx(
                (x / 200, y / 200, w / 200, h / 200), abs=1e-12
            )


def test_index_mode_with_class_file_and_score_last(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    (tmp_path / "img1.txt").write_text("1 0.5 0.5 0.2 0.4 0.93\n0 0.25 0.25 0.1 0.1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "img2.txt").write_text("")
    files = read_yolo_dir(tmp_path)
    assert [f.image_key for f in files] == ["img1", "sub/img2"]
    first, second = files[0].boxes
    assert (first.label, first.score, first.line) == ("dog", 0.93, 1)
    assert (first.x, first.y, first.w, first.h) == pytest.approx((0.4, 0.3, 0.2, 0.4))
    assert (second.label, second.score) == ("cat", None)
    assert files[1].boxes == ()


def test_class_names_file(tmp_path: Path) -> None:
    path = tmp_path / "obj.names"
    path.write_text("a\nb\n\n")
    assert read_class_names(path) == ["a", "b"]
    path.write_text("a\n\nb\n")
    with pytest.raises(ImportFormatError, match="line 2"):
        read_class_names(path)


@pytest.mark.parametrize(
    ("line", "kwargs", "message"),
    [
        ("0 0.5 0.5 0.2", {}, "expected 5 or 6 fields"),
        ("0 0.5 0.5 0.2 0.2 0.9 1", {}, "expected 5 or 6 fields"),
        ("0 0.5 0.5 0.2 x", {}, "h 'x' is not a number"),
        ("0 0.5 nan 0.2 0.2", {}, "cy is nan"),
        ("0 0.5 0.5 0 0.2", {}, "must be positive"),
        ("0 120 80 30 40", {}, "not fractions"),
        ("cat 0.5 0.5 0.2 0.2", {}, "not a class index"),
        ("5 0.5 0.5 0.2 0.2", {}, "beyond the 2 class names"),
        ("0 0.5 0.5 0.2 0.2", {"score_column": "last"}, "expected 6 fields"),
    ],
)
def test_bad_lines_name_file_and_line(line: str, kwargs: dict[str, str], message: str) -> None:
    text = "# comment\n" + line + "\n"
    with pytest.raises(ImportFormatError, match=message) as info:
        parse_yolo_text(text, source="f.txt", class_names=["a", "b"], **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith("f.txt:line 2:")


def test_index_mode_without_names_and_empty_dir(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ImportFormatError, match="need class names"):
        read_yolo_dir(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImportFormatError, match="no .txt"):
        read_yolo_dir(empty, class_mode="name")
