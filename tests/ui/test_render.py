"""Pages rendered from view data: structure, escaping and CSP-safe markup, without a browser."""

from __future__ import annotations

import re

from predscope.ui.render import (
    render_detail,
    render_explorer,
    render_summary,
)
from predscope.ui.shapes import Box, OverlayFrame, OverlayObject
from predscope.ui.views import (
    Card,
    Chrome,
    ClassRow,
    DetailView,
    ExplorerView,
    SetOption,
    Slider,
    SummaryView,
    Tile,
    VideoFrame,
)
from tests.ui.markup import start_tags


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    return start_tags(html)


def _chrome(**kw: object) -> Chrome:
    sets = (SetOption("run-a", "Run A"), SetOption("run-b", "Run B", stale=True))
    return Chrome("Explorer", "proj", (), sets, "run-b", "/p/1/explore", **kw)  # type: ignore[arg-type]


FRAME = OverlayFrame(
    40,
    30,
    (
        OverlayObject("g", "gt", Box(1, 1, 9, 9), "cat", "fn"),
        OverlayObject("d", "pred", Box(20, 5, 9, 9), "cat", "fp", 0.25),
    ),
)


def test_explorer_tiles_badges_selector_and_slider() -> None:
    tiles = tuple(Tile(str(i), f"img{i}.png", f"/m/{i}", FRAME, f"/u/{i}") for i in range(3))
    html = render_explorer(
        ExplorerView(_chrome(keep=(("class", "cat"),)), tiles, Slider.for_objects(FRAME.objects), 3)
    )
    tags = _tags(html)
    assert sum(1 for t, a in tags if t == "li" and "tile" in (a.get("class") or "")) == 3
    assert sum(1 for t, a in tags if a.get("data-outcome") == "fp") == 3
    options = [(a.get("value"), "selected" in a) for t, a in tags if t == "option"]
    assert options == [("run-a", False), ("run-b", True)]
    assert "Run B (stale)" in html
    hidden = [
        (a["name"], a["value"]) for t, a in tags if t == "input" and a.get("type") == "hidden"
    ]
    assert ("class", "cat") in hidden  # the selector keeps the other filters
    (slider,) = [a for t, a in tags if t == "input" and a.get("id") == "conf"]
    assert (slider["min"], slider["max"]) == ("0.0", "1.0")
    assert re.search(r'class="badge fp"[^>]*>1<', html)


def test_detail_links_prev_next_and_lists_every_object() -> None:
    view = DetailView(_chrome(), "7", "img7.png", "/m/7", FRAME, Slider(), "/grid", "/u/6", None)
    tags = _tags(render_detail(view))
    rels = {a.get("rel"): a.get("href") for t, a in tags if t == "a" and a.get("rel")}
    assert rels == {"up": "/grid", "prev": "/u/6"}
    rows = [a for t, a in tags if t == "tr" and "data-object" in a]
    assert [(r["data-object"], r["data-outcome"], r.get("data-score")) for r in rows] == [
        ("g", "fn", None),
        ("d", "fp", "0.25"),
    ]
    assert not any(a.get("id") == "frame" for _, a in tags)  # an image has no scrubber


def test_detail_of_a_video_has_a_scrubber_and_one_overlay_per_frame() -> None:
    frames = tuple(VideoFrame(i, f"/m/v/{i}", FRAME) for i in range(4))
    view = DetailView(
        _chrome(), "v", "clip", "", FRAME, Slider(), "/grid", frames=frames, current_frame=2
    )
    tags = _tags(render_detail(view))
    (scrub,) = [a for t, a in tags if a.get("id") == "frame"]
    assert (scrub["max"], scrub["value"]) == ("3", "2")
    overlays = [a for t, a in tags if "frame-overlay" in (a.get("class") or "")]
    assert [("hidden" in a) for a in overlays] == [True, True, False, True]
    (img,) = [a for t, a in tags if a.get("data-testid") == "frame-image"]
    assert img["src"] == "/m/v/2"


def test_summary_cards_link_and_classes_print_na_for_missing_values() -> None:
    row = ClassRow("cat", -1.0, 0.5, float("nan"), 0.0, 0.0, 0, 2, 3, 3, {"fp": "/x?o=fp"})
    view = SummaryView(_chrome(), (Card("FP", "2", "/x?o=fp", kind="fp"),), (row,))
    html = render_summary(view)
    assert re.search(
        r'data-testid="card-fp".*?<a class="card-value" href="/x\?o=fp">2</a>', html, re.S
    )
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', html)
    assert cells[:5] == ["n/a", "0.500", "n/a", "0.000", "0.000"]
    assert '<a href="/x?o=fp">2</a>' in html


def test_user_text_is_escaped_everywhere() -> None:
    evil = '<img src=x onerror="alert(1)">'
    frame = OverlayFrame(10, 10, (OverlayObject(evil, "gt", Box(0, 0, 1, 1), evil, "fn"),))
    tiles = (Tile(evil, evil, "/m/1", frame, "/u/1"),)
    html = render_explorer(ExplorerView(Chrome(evil, evil), tiles, Slider(), 1))
    assert evil not in html
    assert not any(t == "img" and a.get("onerror") for t, a in _tags(html))


def test_slider_covers_unbounded_scores_with_round_steps() -> None:
    objs = tuple(
        OverlayObject(str(i), "pred", Box(0, 0, 1, 1), "x", "fp", s)
        for i, s in enumerate((0.24, 7.4477))
    )
    s = Slider.for_objects(objs)
    assert (s.minimum, s.maximum, s.value, s.step) == (0.0, 7.4477, 0.0, 0.01)
    p = Slider.for_objects(objs[:1], 0.5)
    assert (p.minimum, p.maximum, p.value, p.step) == (0.0, 1.0, 0.5, 0.001)
    assert Slider.for_objects(()).maximum == 1.0
