"""The UI's behaviour in a real browser, on pages rendered from the demo photos and real models."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from predscope.ui.render import CONTENT_SECURITY_POLICY
from tests.ui.conftest import PageProblems
from tests.ui.demo_site import SETS, fp_count, scores, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve() as base:
        yield base


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")


def _wait_until(page: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll an expression from the test side: `wait_for_function` polls inside the page with `eval`,
    which the pages' own CSP (rightly) refuses whenever the condition is not already true."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("set_name", sorted(SETS))
def test_explorer_draws_every_false_positive_of_the_set(
    page: Any, site: str, set_name: str
) -> None:
    _open(page, f"{site}/explorer?set={set_name}")
    drawn = page.locator("svg.overlay [data-outcome='fp']")
    assert drawn.count() == fp_count(set_name)
    assert page.locator("[data-testid='js-notice']").is_hidden()
    badges = page.locator(".badge[data-count='fp']").all_inner_texts()
    assert sum(int(b) for b in badges) == fp_count(set_name)
    assert page.locator("#set-select").input_value() == set_name


def test_opencv_set_has_the_false_positives_its_source_describes(page: Any, site: str) -> None:
    """SOURCE.md: false 'faces' on coins (5) and hubble (2), HOG persons on astronaut and rocket."""
    _open(page, f"{site}/explorer?set=opencv")
    per_tile = {
        t.get_attribute("data-unit"): t.locator("[data-outcome='fp']").count()
        for t in page.locator(".tile").all()
    }
    assert per_tile == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 5, "6": 0, "7": 0, "8": 2}


def test_confidence_slider_hides_exactly_the_predictions_below_it(page: Any, site: str) -> None:
    _open(page, f"{site}/explorer?set=opencv")
    slider = page.locator("#conf")
    lo, hi = float(slider.get_attribute("min")), float(slider.get_attribute("max"))
    assert lo <= scores("opencv").min() and hi >= scores("opencv").max()  # unbounded Haar scores
    for wanted in ("0.62", "5.5", "0"):
        slider.fill(wanted)
        conf = slider.input_value()  # the value the slider snapped to its step
        assert float(conf) == pytest.approx(float(wanted), abs=0.01)
        shapes = page.locator("svg.overlay g.obj[data-score]")
        seen = shapes.evaluate_all(
            "els => els.map(e => [Number(e.dataset.score),"
            " e.querySelector('.shape').getBoundingClientRect().width > 0])"
        )
        assert len(seen) == len(scores("opencv"))
        assert all(visible == (score >= float(conf)) for score, visible in seen), (conf, seen)
        assert page.locator("svg.overlay g.gt").first.is_visible()  # GT has no score: stays
        assert float(page.locator("#conf-value").inner_text()) == float(conf)
        visible_fp = sum(1 for s, v in seen if v and s >= float(conf)) - sum(
            1
            for s, v in seen
            if v and s >= float(conf) and s > 7  # the only TP (face, 7.45)
        )
        badges = page.locator(".badge[data-count='fp']").all_inner_texts()
        assert sum(int(b) for b in badges) == visible_fp
        assert _query(page).get("conf") == (None if wanted == "0" else [conf])
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    slider.fill("5.5")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#conf").input_value() == "5.5"  # the threshold survives a reload
    assert page.locator("svg.overlay g.obj.below-conf").count() == int(
        (scores("opencv") < 5.5).sum()
    )


def test_g_and_p_toggle_the_layers_and_the_choice_is_in_the_url(page: Any, site: str) -> None:
    _open(page, f"{site}/unit/1?set=opencv")
    gt_layer = page.locator("[data-testid='overlay'] g.layer[data-layer='gt']")
    pred = page.locator("[data-testid='overlay'] g.obj.pred")
    assert gt_layer.is_visible() and pred.first.is_visible()
    page.keyboard.press("g")
    assert gt_layer.is_hidden() and pred.first.is_visible()
    assert not page.locator("input[data-layer-toggle='gt']").is_checked()
    assert _query(page)["hide"] == ["gt"]
    page.keyboard.press("p")
    assert pred.first.is_hidden()
    assert _query(page)["hide"] == ["gt,pred"]
    page.keyboard.press("g")
    page.keyboard.press("p")
    assert gt_layer.is_visible() and pred.first.is_visible() and "hide" not in _query(page)
    page.keyboard.press("l")
    assert page.locator("svg.overlay text.label").first.is_hidden()


def test_arrows_move_between_data_units_and_keep_the_view(page: Any, site: str) -> None:
    _open(page, f"{site}/unit/1?set=opencv")
    page.keyboard.press("g")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"/unit/2\?"))
    page.wait_for_selector("body[data-ready='true']")
    assert _query(page)["set"] == ["opencv"] and _query(page)["hide"] == ["gt"]
    assert page.locator("g.layer[data-layer='gt']").first.is_hidden()  # still hidden on unit 2
    assert page.locator("h1").inner_text() == "coffee.png"
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(r"/unit/1\?"))
    page.wait_for_selector("body[data-ready='true']")
    page.keyboard.press("ArrowLeft")  # the first unit has no previous: nothing happens
    assert urlsplit(page.url).path == "/unit/1"


def test_zoom_then_escape_resets_then_returns_to_the_grid(page: Any, site: str) -> None:
    _open(page, f"{site}/unit/1?set=opencv")
    stage = page.locator(".viewer .stage")
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert float(stage.get_attribute("data-zoom")) == pytest.approx(1.5625, abs=1e-3)
    box = page.locator(".viewer").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -100)
    _wait_until(page, "document.querySelector('.viewer .stage').dataset.zoom > 1.6")
    before = stage.evaluate("e => e.style.transform")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 40)
    page.mouse.up()
    assert stage.evaluate("e => e.style.transform") != before  # dragged: panned
    page.keyboard.press("Escape")
    assert stage.get_attribute("data-zoom") == "1"
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"/explorer\?"))


def test_question_mark_opens_the_help_and_escape_closes_it(page: Any, site: str) -> None:
    _open(page, f"{site}/unit/1?set=opencv")
    help_ = page.locator("[data-testid='help']")
    assert help_.is_hidden()
    page.keyboard.press("?")
    assert help_.is_visible() and "previous / next data unit" in help_.inner_text()
    page.keyboard.press("Escape")
    assert help_.is_hidden()
    assert urlsplit(page.url).path == "/unit/1"  # Escape closed the help only
    page.get_by_role("button", name="?").click()
    assert help_.is_visible()


def test_frame_scrubber_shows_one_frame_and_its_overlay(page: Any, site: str) -> None:
    _open(page, f"{site}/video?set=mediapipe")
    img = page.locator("[data-testid='frame-image']")
    f0, f1 = (
        page.locator("[data-testid='overlay-frame-0']"),
        page.locator("[data-testid='overlay-frame-1']"),
    )
    expect(f0).to_be_visible()
    expect(f1).to_be_hidden()
    expect(img).to_have_attribute("src", "/media/astronaut.png")
    page.keyboard.press(".")
    expect(f1).to_be_visible()
    expect(f0).to_be_hidden()
    expect(img).to_have_attribute("src", "/media/camera.png")
    assert _query(page)["frame"] == ["1"]
    _wait_until(page, "document.querySelector('[data-testid=frame-image]').complete")
    page.locator("#frame").fill("0")
    expect(f0).to_be_visible()
    expect(page.locator("#frame-value")).to_have_text("0")
    # the person mask (RLE) on the astronaut is drawn as a path, a TP
    assert f0.locator("path.mask").count() == 1
    assert f0.locator("g.obj:has(path.mask)").get_attribute("data-outcome") == "tp"


def test_summary_table_sorts_and_counts_link_to_the_explorer(page: Any, site: str) -> None:
    _open(page, f"{site}/summary?set=rapidocr")
    rows = page.locator("[data-testid='class-table'] tbody tr")
    assert rows.count() == 3
    page.get_by_role("button", name="FP", exact=True).click()
    first = rows.first.get_attribute("data-class")
    assert first == "text"  # the only class with an FP (the spurious text on coins)
    assert page.locator("th[aria-sort='descending']").inner_text().startswith("FP")
    page.locator("[data-testid='card-fp'] a").click()
    page.wait_for_url(re.compile(r"/explorer\?.*outcome=fp"))


def test_the_set_selector_is_a_shareable_url(page: Any, site: str) -> None:
    _open(page, f"{site}/explorer?set=opencv")
    page.select_option("#set-select", "mediapipe")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"set=mediapipe"))
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("svg.overlay [data-outcome='fp']").count() == fp_count("mediapipe")


def test_a_script_that_fails_to_load_shows_a_visible_message(
    page: Any, site: str, problems: PageProblems
) -> None:
    problems.allow("/static/keys.js")
    page.route("**/static/keys.js", lambda r: r.fulfill(status=404, body="gone"))
    page.goto(f"{site}/unit/1?set=opencv")
    notice = page.locator("[data-testid='js-notice']")
    notice.wait_for(state="visible", timeout=5000)
    assert "did not start" in notice.inner_text()
    assert page.locator("body[data-ready]").count() == 0


def test_every_control_is_labelled_and_reachable_by_keyboard(page: Any, site: str) -> None:
    _open(page, f"{site}/unit/1?set=opencv")
    unlabelled = page.locator("input:not([type=hidden]), select").evaluate_all(
        "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.outerHTML)"
    )
    assert unlabelled == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible


def test_the_page_guard_catches_other_hosts_inline_script_and_console_errors(
    page: Any, site: str, problems: PageProblems
) -> None:
    """The guard every test relies on can fail: a page breaking each rule is reported."""
    bad = (
        "<!doctype html><title>bad</title><img src='https://cdn.example.com/x.png'>"
        "<script>document.title = 'ran'</script><script src='/static/nope.js'></script>"
    )
    csp = {"Content-Type": "text/html", "Content-Security-Policy": CONTENT_SECURITY_POLICY}
    page.route(f"{site}/bad-csp", lambda r: r.fulfill(body=bad, headers=csp))
    page.route(f"{site}/bad-host", lambda r: r.fulfill(body=bad, content_type="text/html"))
    page.goto(f"{site}/bad-csp")
    assert page.title() == "bad"  # the inline script did not run
    violations = page.evaluate("window.__cspViolations.splice(0)")
    assert sorted(violations) == [
        "img-src https://cdn.example.com/x.png",
        "script-src-elem inline",
    ]
    assert any(p.startswith("HTTP error: 404") and "nope.js" in p for p in problems.found)
    problems.found.clear()
    page.goto(f"{site}/bad-host")  # no CSP: the request leaves, and the gate stops it
    assert page.title() == "ran"
    assert "request to another host: https://cdn.example.com/x.png" in problems.found
    assert any(p.startswith("failed request: https://cdn.example.com") for p in problems.found)
    problems.found.clear()


def test_labels_keep_one_size_on_screen_and_stay_inside_the_image(page: Any, site: str) -> None:
    _open(page, f"{site}/explorer?set=opencv")
    boxes = page.locator("svg.overlay text.label").evaluate_all(
        """els => els.filter(e => e.getBoundingClientRect().width > 0).map(e => {
            const r = e.getBoundingClientRect(), s = e.ownerSVGElement;
            const img = s.parentElement.querySelector('img').getBoundingClientRect();
            const vb = s.viewBox.baseVal;
            const k = Math.min(img.width / vb.width, img.height / vb.height);
            const x0 = img.left + (img.width - vb.width * k) / 2;
            return [r.height, r.left >= x0 - 1, r.right <= x0 + vb.width * k + 1];
        })"""
    )
    assert len(boxes) > 20
    heights = [h for h, _, _ in boxes]
    assert max(heights) - min(heights) < 2  # 1000 px and 384 px wide photos alike
    assert all(inside_left and inside_right for _, inside_left, inside_right in boxes)


def test_a_confusion_cell_opens_its_objects_and_filters_live_in_the_url(
    page: Any, site: str
) -> None:
    _open(page, f"{site}/summary?set=opencv")
    cell = page.locator("td.cell[data-gt='(none)'][data-pred='face']")
    assert cell.get_attribute("data-count") == "7"  # Haar's false faces: 5 on coins, 2 on hubble
    assert cell.get_attribute("class") == "cell fp heat-9"
    cell.locator("a").click()
    page.wait_for_url(re.compile(r"/explorer\?"))
    assert _query(page) == {"set": ["opencv"], "gt": ["(none)"], "pred": ["face"]}
    page.wait_for_selector("body[data-ready='true']")
    page.select_option("#f-class", "face")
    page.select_option("#f-outcome", ["fp", "fn"])
    page.fill("#f-iou", "0.3")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"class=face"))
    q = _query(page)
    assert q["outcome"] == ["fp", "fn"] and q["iou"] == ["0.3"] and q["set"] == ["opencv"]


def test_patches_show_one_crop_per_false_positive_zoomed_to_it(page: Any, site: str) -> None:
    _open(page, f"{site}/patches?set=opencv&outcome=fp")
    crops = page.locator("svg.overlay.crop")
    assert crops.count() == fp_count("opencv")
    for crop in crops.all():
        focus = crop.locator("g.obj.focus")
        assert focus.count() == 1 and focus.get_attribute("data-outcome") == "fp"
        vx, vy, vw, vh = (float(v) for v in crop.get_attribute("viewBox").split())
        shape = focus.locator("rect").first
        x, y = float(shape.get_attribute("x")), float(shape.get_attribute("y"))
        w, h = float(shape.get_attribute("width")), float(shape.get_attribute("height"))
        assert vx <= x and vy <= y and x + w <= vx + vw and y + h <= vy + vh
        label = focus.locator("text.label")
        assert label.is_visible()
    assert page.locator("svg.overlay.crop image").evaluate_all(
        "els => els.every(e => e.getBBox().width > 0)"
    )


def test_start_project_and_compare_pages_link_through(page: Any, site: str) -> None:
    _open(page, f"{site}/")
    page.get_by_role("link", name="skimage demo").click()
    page.wait_for_url(re.compile(r"/project$"))
    page.wait_for_selector("body[data-ready='true']")
    units = page.locator("[data-testid='units']")
    units.get_by_role("button", name="GT objects").click()
    titles = units.locator("tbody tr td:first-child").all_inner_texts()
    assert titles[:3] == ["page.png", "astronaut.png", "camera.png"]  # 7, 2, 2: ties keep order
    units.get_by_role("button", name="Size").click()  # descending by pixel count
    assert units.locator("tbody tr td:first-child").first.inner_text() == "hubble_deep_field.jpg"
    _open(page, f"{site}/compare?a=opencv&set=mediapipe")
    changed = page.locator("[data-testid='changed'] tbody tr")
    assert changed.count() == 2
    changed.first.locator("a").click()
    page.wait_for_url(re.compile(r"/unit/\d+\?set=mediapipe"))


def test_a_run_page_follows_the_progress_to_the_results(page: Any, site: str) -> None:
    _open(page, f"{site}/run?id=ok-{id(page)}")
    page.wait_for_url(re.compile(r"/summary\?set=opencv"), timeout=10_000)
    assert page.locator("[data-testid='summary']").is_visible()


def test_a_failed_run_shows_its_message(page: Any, site: str) -> None:
    _open(page, f"{site}/run?id=bad")
    message = page.locator("[data-testid='run-message']")
    expect(message).to_be_visible(timeout=10_000)
    expect(message).to_contain_text("$.annotations[3].bbox")
    assert page.locator("[data-testid='run']").get_attribute("data-state") == "failed"
    assert page.locator("[data-testid='run-count']").inner_text() == "2 / 4"
    assert page.locator("[data-testid='run-stage']").inner_text() == "failed during matching"
    assert page.locator("[data-testid='run-progress']").evaluate("e => e.value") == 2
    assert page.get_by_role("button", name="Run again").is_visible()
