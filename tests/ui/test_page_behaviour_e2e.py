"""What the pages' own scripts do, in a real browser on the served pages: the confidence slider,
layer toggles, keys, zoom and pan, help, sorting, crops, accessibility, and the page guard."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from predscope.ui.render import CONTENT_SECURITY_POLICY
from tests.ui.conftest import PageProblems, wait_until
from tests.ui.served import Site

pytestmark = pytest.mark.e2e


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _unit(site: Site, title: str) -> str:
    units = site.api("/data-units", limit=100)["items"]
    return str(next(u["data_hash"] for u in units if u["data_title"] == title))


def _scores(site: Site, branch: str) -> list[float]:
    items = site.api(f"/branches/{branch}/objects", limit=1000)["items"]
    return [float(i["confidence"]) for i in items]


def test_confidence_slider_hides_exactly_the_predictions_below_it(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog"))
    scores = _scores(site, "opencv-haar-hog")
    slider = page.locator("#conf")
    lo, hi = float(slider.get_attribute("min")), float(slider.get_attribute("max"))
    assert lo <= min(scores) and hi >= max(scores)  # Haar scores are unbounded
    for wanted in ("0.62", "5.5", "0"):
        slider.fill(wanted)
        conf = float(slider.input_value())
        assert conf == pytest.approx(float(wanted), abs=0.01)
        seen = page.locator("svg.overlay g.obj.pred[data-score]").evaluate_all(
            "els => els.map(e => [Number(e.dataset.score),"
            " e.querySelector('.shape').getBoundingClientRect().width > 0])"
        )
        assert sorted(s for s, _ in seen) == sorted(scores)
        assert all(visible == (score >= conf) for score, visible in seen), (conf, seen)
        assert page.locator("svg.overlay g.gt").first.is_visible()  # GT has no score
        assert _query(page).get("conf") == (None if wanted == "0" else [slider.input_value()])
    slider.fill("5.5")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#conf").input_value() == "5.5"  # the threshold survives a reload
    below = page.locator("svg.overlay g.obj.below-conf").count()
    assert below == sum(s < 5.5 for s in scores)


def test_g_and_p_toggle_the_layers_and_the_choice_is_in_the_url(page: Any, site: Site) -> None:
    _open(page, site.page(f"/units/{_unit(site, 'astronaut.png')}?set=opencv-haar-hog"))
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


def test_arrows_keep_the_view_and_stop_at_the_first_unit(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog"))
    order = [t.get_attribute("data-unit") for t in page.locator(".tile").all()]
    page.locator(".tile a").first.click()
    page.wait_for_selector("[data-testid='detail']")
    page.wait_for_selector("body[data-ready='true']")
    page.keyboard.press("g")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(f"[data-testid='detail'][data-unit='{order[1]}']")
    page.wait_for_selector("body[data-ready='true']")
    assert _query(page)["set"] == ["opencv-haar-hog"] and _query(page)["hide"] == ["gt"]
    assert page.locator("g.layer[data-layer='gt']").first.is_hidden()  # still hidden here
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(f"[data-testid='detail'][data-unit='{order[0]}']")
    page.wait_for_selector("body[data-ready='true']")
    before = page.url
    page.keyboard.press("ArrowLeft")  # the first unit has no previous: nothing happens
    page.wait_for_timeout(300)
    assert page.url == before and page.locator("a[rel='prev']").count() == 0


def test_zoom_then_escape_resets_then_returns_to_the_grid(page: Any, site: Site) -> None:
    _open(page, site.page(f"/units/{_unit(site, 'astronaut.png')}?set=opencv-haar-hog&pos=0"))
    stage = page.locator(".viewer .stage")
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert float(stage.get_attribute("data-zoom")) == pytest.approx(1.5625, abs=1e-3)
    box = page.locator(".viewer").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -100)
    wait_until(page, "document.querySelector('.viewer .stage').dataset.zoom > 1.6", 10.0)
    before = stage.evaluate("e => e.style.transform")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 40)
    page.mouse.up()
    assert stage.evaluate("e => e.style.transform") != before  # dragged: panned
    page.keyboard.press("Escape")
    assert stage.get_attribute("data-zoom") == "1"
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"/explore\?"))


def test_question_mark_opens_the_help_and_escape_closes_it(page: Any, site: Site) -> None:
    url = site.page(f"/units/{_unit(site, 'astronaut.png')}?set=opencv-haar-hog")
    _open(page, url)
    help_ = page.locator("[data-testid='help']")
    assert help_.is_hidden()
    page.keyboard.press("?")
    assert help_.is_visible() and "previous / next data unit" in help_.inner_text()
    page.keyboard.press("Escape")
    assert help_.is_hidden()
    assert page.url == url  # Escape closed the help only
    page.get_by_role("button", name="?").click()
    assert help_.is_visible()


def test_summary_table_sorts_and_counts_link_to_the_explorer(page: Any, site: Site) -> None:
    _open(page, site.page("/summary?set=rapidocr-1.4.4"))
    classes = site.api("/branches/rapidocr-1.4.4/metrics")["classes"]
    rows = page.locator("[data-testid='class-table'] tbody tr")
    assert rows.count() == len(classes)
    page.get_by_role("button", name="FP", exact=True).click()
    most = max(classes, key=lambda c: c["fp"])
    assert most["name"] == "text" and most["fp"] > 0  # the spurious text on the coins
    assert rows.first.get_attribute("data-class") == "text"
    assert page.locator("th[aria-sort='descending']").inner_text().startswith("FP")
    page.locator("[data-testid='card-fp'] a").click()
    page.wait_for_url(re.compile(r"/explore\?.*outcome=FP"))


def _choose_set(page: Any, name: str) -> None:
    """Pick ``name`` in the header's set selector and wait for the page it leads to."""
    page.select_option("#set-select", name)
    page.locator("[data-testid='set-selector'] button").click()
    page.wait_for_url(re.compile(f"set={re.escape(name)}"))
    page.wait_for_selector("body[data-ready='true']")


def test_the_set_selector_is_a_shareable_url(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog"))
    _choose_set(page, "mediapipe-0.10.21")
    fp = site.api("/branches/mediapipe-0.10.21/objects", outcome="FP", limit=1)["total"]
    assert page.locator("svg.overlay g.pred[data-outcome='fp']").count() == fp


@pytest.mark.parametrize(
    "path",
    ["", "/summary", "/explore", "/explore?view=objects", "detail", "/properties", "/compare",
     "/labels"],
)  # fmt: skip
def test_every_page_has_the_selector_and_its_links_keep_the_choice(
    page: Any, site: Site, path: str
) -> None:
    if path == "detail":
        path = f"/units/{_unit(site, 'coins.png')}"
    sep = "&" if "?" in path else "?"
    _open(page, site.page(f"{path}{sep}set=mediapipe-0.10.21"))
    assert page.locator("#set-select").input_value() == "mediapipe-0.10.21"
    links = page.locator("header nav a").evaluate_all("els => els.map(e => e.href)")
    assert len(links) >= 6
    assert all(parse_qs(urlsplit(h).query).get("set") == ["mediapipe-0.10.21"] for h in links)
    _choose_set(page, "rapidocr-1.4.4")  # and choosing another keeps the page
    assert urlsplit(page.url).path == urlsplit(site.page(path)).path


def test_on_compare_the_header_selector_chooses_set_a(page: Any, site: Site) -> None:
    _open(page, site.page("/compare?a=opencv-haar-hog&b=mediapipe-0.10.21"))
    _choose_set(page, "rapidocr-1.4.4")
    assert page.locator("h1 .set-a").inner_text() == "rapidocr-1.4.4"
    assert page.locator("h1 .set-b").inner_text() == "mediapipe-0.10.21"
    page.select_option("#f-a", "opencv-haar-hog")  # and the page's own form still chooses A
    page.click("#filters button[type='submit']")
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("h1 .set-a").inner_text() == "opencv-haar-hog"


def test_a_script_that_fails_to_load_shows_a_visible_message(
    page: Any, site: Site, problems: PageProblems
) -> None:
    problems.allow("/static/keys.js")
    page.route("**/static/keys.js", lambda r: r.fulfill(status=404, body="gone"))
    page.goto(site.page("/explore?set=opencv-haar-hog"))
    notice = page.locator("[data-testid='js-notice']")
    notice.wait_for(state="visible", timeout=5000)
    assert "did not start" in notice.inner_text()
    assert page.locator("body[data-ready]").count() == 0


FOCUSABLE = (
    "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])"
)
# Marks every control a keyboard user must reach (shown, enabled) and counts them.
MARK_FOCUSABLE = f"""() => {{
  const all = [...document.querySelectorAll("{FOCUSABLE}")]
    .filter(e => !e.disabled && e.checkVisibility());
  all.forEach(e => e.dataset.mustFocus = "1");
  return all.length;
}}"""
# On each Tab: mark the focused element and say whether its focus ring shows.
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  e.dataset.focusSeen = "1";
  const s = getComputedStyle(e);
  return [e.tagName, s.outlineStyle, parseFloat(s.outlineWidth)];
}"""


@pytest.mark.parametrize(
    "path",
    [
        "/summary?set=opencv-haar-hog",
        "/explore?set=opencv-haar-hog&view=objects",
        "",
        "/compare?a=opencv-haar-hog&b=mediapipe-0.10.21&interval=inline",
        "detail",
    ],
)
def test_every_control_is_labelled_and_reachable_by_keyboard(
    page: Any, site: Site, path: str
) -> None:
    if path == "detail":
        path = f"/units/{_unit(site, 'coins.png')}?set=opencv-haar-hog&pos=1"
    _open(page, site.page(path))
    unlabelled = page.locator("input:not([type=hidden]), select").evaluate_all(
        "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.outerHTML)"
    )
    assert unlabelled == []
    nameless = page.locator("button, a[href]").evaluate_all(
        "els => els.filter(e => !(e.textContent.trim() || e.getAttribute('aria-label')"
        " || e.querySelector('title'))).map(e => e.outerHTML)"
    )
    assert nameless == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    # Tab through the whole page: every control gets the focus, each time with a visible ring
    controls = page.evaluate(MARK_FOCUSABLE)
    assert controls > 5
    for _ in range(controls + 3):
        focused = page.evaluate(FOCUSED)
        if focused is None:  # past the last control: the focus left the page
            break
        assert focused[1] == "solid" and focused[2] >= 2, focused
        page.keyboard.press("Tab")
    missed = page.locator("[data-must-focus]:not([data-focus-seen])").evaluate_all(
        "els => els.map(e => e.outerHTML.slice(0, 120))"
    )
    assert missed == []


def test_the_page_guard_catches_other_hosts_inline_script_and_console_errors(
    page: Any, site: Site, problems: PageProblems
) -> None:
    """The guard every test relies on can fail: a page breaking each rule is reported."""
    bad = (
        "<!doctype html><title>bad</title><img src='https://cdn.example.com/x.png'>"
        "<script>document.title = 'ran'</script><script src='/static/nope.js'></script>"
    )
    csp = {"Content-Type": "text/html", "Content-Security-Policy": CONTENT_SECURITY_POLICY}
    page.route(f"{site.url}/bad-csp", lambda r: r.fulfill(body=bad, headers=csp))
    page.route(f"{site.url}/bad-host", lambda r: r.fulfill(body=bad, content_type="text/html"))
    page.goto(f"{site.url}/bad-csp")
    assert page.title() == "bad"  # the inline script did not run
    violations = page.evaluate("window.__cspViolations.splice(0)")
    assert sorted(violations) == ["img-src https://cdn.example.com/x.png", "script-src-elem inline"]
    assert any(p.startswith("HTTP error: 404") and "nope.js" in p for p in problems.found)
    problems.found.clear()
    page.goto(f"{site.url}/bad-host")  # no CSP: the request leaves, and the gate stops it
    assert page.title() == "ran"
    assert "request to another host: https://cdn.example.com/x.png" in problems.found
    assert any(p.startswith("failed request: https://cdn.example.com") for p in problems.found)
    problems.found.clear()


def test_labels_keep_one_size_on_screen_and_stay_inside_the_image(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog"))
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


def test_crops_are_zoomed_to_their_object(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog&view=objects&outcome=FP"))
    crops = page.locator("svg.overlay.crop")
    assert (
        crops.count()
        == site.api("/branches/opencv-haar-hog/objects", outcome="FP", limit=1)["total"]
    )
    for crop in crops.all():
        focus = crop.locator("g.obj.focus")
        assert focus.count() == 1 and focus.get_attribute("data-outcome") == "fp"
        vx, vy, vw, vh = (float(v) for v in crop.get_attribute("viewBox").split())
        shape = focus.locator("rect").first
        x, y = float(shape.get_attribute("x")), float(shape.get_attribute("y"))
        w, h = float(shape.get_attribute("width")), float(shape.get_attribute("height"))
        assert vx <= x and vy <= y and x + w <= vx + vw and y + h <= vy + vh
        assert focus.locator("text.label").is_visible()
    assert page.locator("svg.overlay.crop image").evaluate_all(
        "els => els.every(e => e.getBBox().width > 0)"
    )


def test_polygons_are_drawn_as_polygons(page: Any, site: Site) -> None:
    """The text regions of page.png are polygons in the ontology: drawn as shapes, not boxes."""
    _open(page, site.page(f"/units/{_unit(site, 'page.png')}?set=rapidocr-1.4.4"))
    gt_text = page.locator("[data-testid='overlay'] g.obj.gt[data-class='text']")
    assert gt_text.count() == 7
    assert gt_text.locator("path, polygon").count() >= 7
