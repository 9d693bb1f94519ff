"""The pages of a real ``predscope serve`` in a real browser, checked against the JSON API.

The store holds the scikit-image photos with their ground truth, an image group, a unit without
pixels, and three real detectors' branches, each analysed. What is on screen must equal what the
API (the same services as ``predscope metrics`` / ``objects`` / ``units``) answers.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from predscope.ui.render import CONTENT_SECURITY_POLICY
from tests.ui.conftest import PageProblems, wait_until
from tests.ui.served import SETS, Site

pytestmark = pytest.mark.e2e


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _unit_hash(site: Site, title: str) -> str:
    units = site.api("/data-units", limit=100)["items"]
    return str(next(u["data_hash"] for u in units if u["data_title"] == title))


def _objects_total(site: Site, branch: str, **filters: Any) -> int:
    return int(site.api(f"/branches/{branch}/objects", limit=1, **filters)["total"])


@pytest.mark.parametrize("branch", sorted(SETS))
def test_the_image_grid_draws_every_false_positive_the_api_counts(
    page: Any, site: Site, branch: str
) -> None:
    _open(page, site.page(f"/explore?set={branch}"))
    units = site.api(f"/branches/{branch}/units", limit=1000)
    fp = sum(u["fp"] for u in units["items"])
    assert fp == _objects_total(site, branch, outcome="FP")
    assert page.locator(".tile").count() == units["total"]
    assert page.locator("svg.overlay g.obj.pred[data-outcome='fp']").count() == fp
    badges = page.locator(".badge[data-count='fp']").all_inner_texts()
    assert sum(int(b) for b in badges) == fp
    assert page.locator("#set-select").input_value() == branch


def test_tiles_come_in_the_apis_order_most_false_positives_first(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog"))
    shown = [t.get_attribute("data-unit") for t in page.locator(".tile").all()]
    api = site.api("/branches/opencv-haar-hog/units", limit=1000, order_by="-fp")["items"]
    assert shown == [u["data_hash"] for u in api]
    first = page.locator(".tile").first
    assert first.locator(".tile-title").inner_text() == "coins.png"  # five false 'faces'


def test_object_crops_match_the_filtered_query(page: Any, site: Site) -> None:
    url = site.page("/explore?set=opencv-haar-hog&view=objects&outcome=FP&class=face&conf_min=0.5")
    _open(page, url)
    total = _objects_total(
        site, "opencv-haar-hog", outcome="FP", object_name="face", min_confidence=0.5
    )
    assert total > 0
    assert page.locator("[data-testid='count']").inner_text() == f"{total} objects"
    crops = page.locator(".tile svg.overlay.crop")
    assert crops.count() == total
    focused = page.locator(".tile svg.crop g.obj.focus")
    assert focused.count() == total
    outcomes = set(focused.evaluate_all("els => els.map(e => e.dataset.outcome)"))
    assert outcomes == {"fp"}
    scores = focused.evaluate_all("els => els.map(e => Number(e.dataset.score))")
    assert min(scores) >= 0.5 and scores == sorted(scores, reverse=True)


def test_filters_are_a_form_whose_state_is_the_url(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog&view=objects"))
    page.select_option("#f-outcome", ["FP"])
    page.fill("#f-conf_min", "1")
    page.click("#filters button[type='submit']")
    page.wait_for_selector("body[data-ready='true']")
    q = _query(page)
    assert q["outcome"] == ["FP"] and q["conf_min"] == ["1"] and q["set"] == ["opencv-haar-hog"]
    total = _objects_total(site, "opencv-haar-hog", outcome="FP", min_confidence=1)
    assert page.locator(".tile").count() == total
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#f-conf_min").input_value() == "1"


def test_a_filter_change_puts_the_page_the_form_names_in_place(page: Any, site: Site) -> None:
    """No navigation: the same page a navigation would bring, the URL the form would go to; Back
    loads the earlier query."""
    _open(page, site.page("/explore?set=opencv-haar-hog&view=objects"))
    everything = page.locator("[data-testid='count']").inner_text()
    page.evaluate("window.__kept = true")  # gone if the browser loads a new page
    page.select_option("#f-outcome", ["FP"])
    page.click("#filters button[type='submit']")
    page.wait_for_selector("body[data-ready='true']")
    assert page.evaluate("window.__kept === true")
    assert page.evaluate("performance.getEntriesByName('predscope:filter').length") == 1
    q = _query(page)
    assert q["outcome"] == ["FP"] and q["set"] == ["opencv-haar-hog"] and q["view"] == ["objects"]
    total = _objects_total(site, "opencv-haar-hog", outcome="FP")
    assert page.locator(".tile").count() == total
    assert page.locator("#filters button[type='submit']").evaluate(
        "b => b === document.activeElement"
    )
    swapped = page.locator("#main").evaluate("e => e.outerHTML")
    kept = page.locator("form.set-selector").evaluate("e => e.outerHTML")
    assert 'name="outcome" value="FP"' in kept  # the set selector keeps the new filters
    page.go_back()
    page.wait_for_function(
        "() => window.__kept === undefined && document.body.dataset.ready === 'true'"
    )
    assert "outcome" not in _query(page)
    assert page.locator("[data-testid='count']").inner_text() == everything
    page.go_forward()
    page.wait_for_function("() => location.search.includes('outcome=FP')")
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#main").evaluate("e => e.outerHTML") == swapped
    assert page.locator("form.set-selector").evaluate("e => e.outerHTML") == kept


def test_a_filter_the_server_refuses_shows_its_error_page(
    page: Any, site: Site, problems: PageProblems
) -> None:
    problems.allow("422")  # min above max: the query layer refuses it
    _open(page, site.page("/explore?set=opencv-haar-hog&view=objects"))
    page.fill("#f-conf_min", "0.9")
    page.fill("#f-conf_max", "0.1")
    with page.expect_navigation():
        page.click("#filters button[type='submit']")
    page.wait_for_selector("body[data-ready='true']")
    assert "conf_min" in _query(page)
    assert page.locator("[data-testid='error']").get_attribute("data-code") is not None
    assert "conf" in page.locator("[data-testid='error']").inner_text()


@pytest.mark.parametrize(
    ("fill", "select", "api"),
    [
        ({}, {"f-error": ["background"]}, {"error_type": "background"}),
        ({"f-iou_min": "0.6"}, {"f-outcome": ["TP"]}, {"min_iou": 0.6, "outcome": "TP"}),
        ({"f-area_min": "2000"}, {}, {"property": "area_px:2000:"}),
    ],
    ids=["error-type", "iou", "area"],
)
def test_error_type_iou_and_property_filters_match_the_query(
    page: Any, site: Site, fill: dict[str, str], select: dict[str, list[str]], api: dict[str, Any]
) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog&view=objects"))
    for field, value in fill.items():
        page.fill(f"#{field}", value)
    for field, values in select.items():
        page.select_option(f"#{field}", values)
    page.click("#filters button[type='submit']")
    page.wait_for_selector("body[data-ready='true']")
    total = _objects_total(site, "opencv-haar-hog", **api)
    assert total > 0
    said = f"{total} object{'' if total == 1 else 's'}"
    assert page.locator("[data-testid='count']").inner_text() == said
    assert page.locator(".tile").count() == min(total, 50)
    page.reload()  # the filters are the URL
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("[data-testid='count']").inner_text() == said


def test_the_summary_shows_the_stored_metrics(page: Any, site: Site) -> None:
    import subprocess
    import sys

    doc = site.api("/branches/rapidocr-1.4.4/metrics")
    printed = subprocess.run(
        [sys.executable, "-m", "predscope", "metrics", site.project, "--branch", "rapidocr-1.4.4",
         "--store", site.store, "--json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    cli = json.loads(printed)
    assert cli["run"]["id"] == doc["run"]["id"] and cli["stats"] == doc["stats"]
    _open(page, site.page("/summary?set=rapidocr-1.4.4"))
    card = page.locator("[data-testid='card-map'] .card-value")
    assert card.inner_text() == f"{cli['stats']['AP']:.3f}"  # what `predscope metrics` says
    ap50 = page.locator("[data-testid='card-ap50'] .card-value").inner_text()
    assert ap50 == f"{doc['stats']['AP50']:.3f}"
    counts = doc["counts"][0]
    for key in ("tp", "fp", "fn"):
        shown = page.locator(f"[data-testid='card-{key}'] .card-value").inner_text()
        assert int(shown) == counts[key], key
    for c in doc["classes"]:
        row = page.locator(f"table.classes tr[data-class='{c['name']}']")
        assert row.locator("td[data-col='tp']").inner_text() == str(c["tp"])
        assert float(row.locator("td[data-col='ap']").get_attribute("data-value")) == c["AP"]


def _card(page: Any, key: str) -> str:
    return str(page.locator(f"[data-testid='card-{key}'] .card-value").inner_text())


def _metric(value: float | None) -> str:
    return "n/a" if value is None or value != value or value < 0 else f"{value:.3f}"


@pytest.mark.parametrize("branch", sorted(SETS))
def test_the_summary_draws_every_figure_the_api_stores(page: Any, site: Site, branch: str) -> None:
    """Beyond mAP: AP75, mAR, AP by size, the PR curves with their operating points, the TP / FP
    confidence histogram, TIDE's dAP per error type, calibration and the classifications."""
    doc = site.api(f"/branches/{branch}/metrics")
    _open(page, site.page(f"/summary?set={branch}"))
    stats = doc["stats"]
    for key, stat in (("ap75", "AP75"), ("mar", "AR100"), ("ap-small", "APs"),
                      ("ap-medium", "APm"), ("ap-large", "APl")):  # fmt: skip
        assert _card(page, key) == _metric(stats[stat]), key
    # PR curves: one series per class, each operating point at the F1-optimal threshold
    series = page.locator("[data-testid='pr-curves'] g.series")
    assert series.count() == len(doc["pr_curves"])
    for c in doc["classes"]:
        point = page.locator(f"[data-testid='pr-curves'] [data-testid='op-{c['name']}']")
        if c.get("best_recall") is None or c.get("best_precision") is None:
            assert point.count() == 0
            continue
        tip = point.locator("title").text_content()
        assert f"precision {c['best_precision']:.3f}, recall {c['best_recall']:.3f}" in tip
    # the histogram holds every TP and FP prediction at IoU 0.5
    counts = doc["counts"][0]
    for outcome in ("tp", "fp"):
        bars = page.locator(f"[data-testid='confidence-histogram'] rect.bar.{outcome}")
        drawn = bars.evaluate_all("els => els.reduce((n, e) => n + Number(e.dataset.count), 0)")
        assert drawn == counts[outcome], outcome
    # TIDE: one bar per error type with its dAP, each a link to those objects
    dap = doc["errors"]["dap"]
    bars = page.locator("[data-testid='errors'] rect.bar")
    shown = dict(
        zip(
            bars.evaluate_all("els => els.map(e => e.dataset.label)"),
            bars.evaluate_all("els => els.map(e => Number(e.dataset.value))"),
            strict=True,
        )
    )
    assert shown.keys() == dap.keys() and len(dap) >= 5
    assert all(abs(shown[k] - (dap[k] or 0.0)) < 1e-6 for k in dap)
    assert page.locator("[data-testid='errors'] a rect.bar").count() == len(dap)
    # calibration: the reliability diagram with the stored ECE (none for unbounded scores)
    diagram = page.locator("[data-testid='reliability']")
    if doc["calibration"] is None:
        assert diagram.count() == 0
    else:
        ece = doc["calibration"]["ece"]
        assert diagram.locator("text.ece").text_content() == f"ECE {ece:.3f}"
    # the ontology's radio classification ("scene"): its figures or why there are none
    sections = page.locator("[data-testid='classification']")
    assert sections.count() == len(doc["classifications"])
    for c in doc["classifications"]:
        section = page.locator(f"[data-testid='classification'][data-name='{c['name']}']")
        headline = section.locator("[data-testid='classification-headline']").inner_text()
        if c.get("images_predicted"):
            assert f"accuracy {_metric(c['accuracy'])}" in headline
            options = section.locator("[data-testid='classification-options'] tbody tr")
            assert options.count() == len(c["per_class"])
        else:
            assert "answers it on no image" in headline


def test_the_iou_selector_recounts_at_the_chosen_threshold(page: Any, site: Site) -> None:
    _open(page, site.page("/summary?set=opencv-haar-hog"))
    page.select_option("#iou-select", "0.80")
    page.click("[data-testid='operating'] button[type='submit']")
    page.wait_for_selector("body[data-ready='true']")
    assert _query(page)["iou"] == ["0.80"]
    counts = next(
        c for c in site.api("/branches/opencv-haar-hog/metrics")["counts"] if c["iou"] == 0.8
    )
    assert int(page.locator("[data-testid='card-tp'] .card-value").inner_text()) == counts["tp"]
    assert int(page.locator("[data-testid='card-fp'] .card-value").inner_text()) == counts["fp"]
    link = page.locator("[data-testid='card-fp'] a").get_attribute("href")
    assert "iou=0.80" in link and "outcome=FP" in link


def test_the_confidence_slider_updates_counts_to_what_the_query_layer_says(
    page: Any, site: Site
) -> None:
    _open(page, site.page("/summary?set=opencv-haar-hog"))
    data = json.loads(page.locator("#operating-data").text_content())
    slider = page.locator("#op-conf")
    n = len(data["cuts"])
    assert n > 2
    for position in (0, n // 2, n - 1):
        slider.fill(str(position))
        cut = data["cuts"][n - 1 - position]
        tp = _objects_total(site, "opencv-haar-hog", outcome="TP", min_confidence=cut)
        fp = _objects_total(site, "opencv-haar-hog", outcome="FP", min_confidence=cut)
        assert page.locator("[data-op='tp']").inner_text() == str(tp)
        assert page.locator("[data-op='fp']").inner_text() == str(fp)
        face_fp = _objects_total(
            site, "opencv-haar-hog", outcome="FP", object_name="face", min_confidence=cut
        )
        row = page.locator("table.classes tr[data-class='face']")
        if position:
            assert row.locator("td[data-col='fp']").inner_text() == str(face_fp)
        precision = tp / (tp + fp) if tp + fp else float("nan")
        shown = page.locator("[data-op='precision']").inner_text()
        assert shown == ("n/a" if precision != precision else f"{precision:.3f}")
        gt = _objects_total(site, "opencv-haar-hog", kind="ground_truth", outcome=["TP", "FN"])
        assert page.locator("[data-op='fn']").inner_text() == str(gt - tp)
        recall = tp / gt
        assert page.locator("[data-op='recall']").inner_text() == f"{recall:.3f}"
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        assert page.locator("[data-op='f1']").inner_text() == f"{f1:.3f}"


def test_each_count_of_the_class_table_opens_exactly_its_objects(page: Any, site: Site) -> None:
    _open(page, site.page("/summary?set=rapidocr-1.4.4"))
    row = page.locator("table.classes tr[data-class='text']")
    for key, unit in (("tp", "objects"), ("fp", "objects"), ("fn", "objects")):
        link = row.locator(f"td[data-col='{key}'] a")
        count = int(link.inner_text())
        link.click()
        page.wait_for_selector("body[data-ready='true']")
        q = _query(page)
        assert q["outcome"] == [key.upper()] and q["class"] == ["text"]
        said = f"{count} {unit[:-1] if count == 1 else unit}"
        assert page.locator("[data-testid='count']").inner_text() == said
        page.go_back()
        page.wait_for_selector("body[data-ready='true']")


def test_a_confusion_cell_opens_exactly_its_objects(page: Any, site: Site) -> None:
    _open(page, site.page("/summary?set=opencv-haar-hog"))
    cell = page.locator("[data-testid='confusion'] a").first
    count = int(cell.inner_text())
    cell.click()
    page.wait_for_selector("body[data-ready='true']")
    q = _query(page)
    assert q["view"] == ["objects"] and q["set"] == ["opencv-haar-hog"]
    assert page.locator(".tile").count() == count


def test_detail_view_keys_walk_the_filtered_list(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog"))
    order = [t.get_attribute("data-unit") for t in page.locator(".tile").all()]
    page.locator(".tile a").first.click()
    page.wait_for_selector("[data-testid='detail']")
    page.wait_for_selector("body[data-ready='true']")  # the keys listen from here on
    assert page.locator("[data-testid='detail']").get_attribute("data-unit") == order[0]
    assert page.locator(".position").inner_text() == f"1 of {len(order)}"
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(f"[data-testid='detail'][data-unit='{order[1]}']")
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator(".position").inner_text() == f"2 of {len(order)}"
    drawn = page.locator("[data-testid='overlay'] g.obj").count()
    rows = page.locator("[data-testid='object-table'] tbody tr[data-object]").count()
    stored = sum(
        _objects_total(site, "opencv-haar-hog", kind=kind, data_hash=order[1])
        for kind in ("prediction", "ground_truth")
    )
    assert drawn == rows == stored
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(f"[data-testid='detail'][data-unit='{order[0]}']")
    page.wait_for_selector("body[data-ready='true']")
    page.keyboard.press("Escape")
    page.wait_for_selector("[data-testid='grid']")
    assert _query(page)["set"] == ["opencv-haar-hog"]


def test_an_image_group_gets_a_frame_scrubber(page: Any, site: Site) -> None:
    unit = next(u for u in site.api("/data-units", limit=100)["items"] if u["data_title"] == "pair")
    _open(page, site.page(f"/units/{unit['data_hash']}?set=opencv-haar-hog"))
    scrubber = page.locator("[data-testid='frame-scrubber']")
    assert scrubber.get_attribute("max") == "1"
    scrubber.fill("1")
    wait_until(page, "document.querySelector(\"[data-frame='1']\").hidden === false")
    src = page.locator("[data-testid='frame-image']").get_attribute("src")
    assert src.endswith("frame=1")


def test_compare_shows_the_apis_deltas_and_changed_objects(page: Any, site: Site) -> None:
    doc = site.api("/compare", a="opencv-haar-hog", b="mediapipe-0.10.21")
    _open(page, site.page("/compare?a=opencv-haar-hog&b=mediapipe-0.10.21"))
    rows = page.locator("[data-testid='per-class-deltas'] tbody tr")
    assert rows.count() == len(doc["per_class"])
    changed = doc["changed"]
    total = changed["found_by_a_missed_by_b"] + changed["found_by_b_missed_by_a"]
    assert page.locator("[data-testid='changed'] tbody tr a").count() == total
    delta = page.locator("[data-testid='card-map-a-−-b'] .card-value").inner_text()
    assert delta == f"{doc['stats']['AP']['delta']:+.3f}"
    link = page.locator("[data-testid='changed'] tbody tr a").first
    link.click()
    page.wait_for_selector("[data-testid='detail']")
    page.wait_for_selector("body[data-ready='true']")
    shown, other = _query(page)["set"][0], _query(page)["vs"][0]
    assert {shown, other} == {"opencv-haar-hog", "mediapipe-0.10.21"}
    mine = page.locator("[data-testid='overlay'] g.obj.pred:not([data-class$=']'])").count()
    theirs = page.locator(f"[data-testid='overlay'] g.obj.pred[data-class$='[{other}]']").count()
    unit = urlsplit(page.url).path.rsplit("/", 1)[1]
    assert mine == _objects_total(site, shown, data_hash=unit)
    assert theirs == _objects_total(site, other, data_hash=unit)


def _interval_shown(page: Any) -> dict[str, Any]:
    """The intervals on the compare page once they arrived: the card's hint, per class the
    table's cell (text, and its sort value: the lower end, exact) and the chart's whiskers."""
    part = page.locator("[data-testid='interval'][data-state='done']")
    part.wait_for(timeout=60_000)
    assert part.get_attribute("aria-busy") is None
    assert page.locator("[data-testid='interval-pending']").count() == 0
    cells = {}
    for row in page.locator("[data-testid='per-class-deltas'] tbody tr").all():
        cell = row.locator("td").nth(4)
        cells[row.locator("td").first.inner_text()] = (
            cell.inner_text(),
            cell.get_attribute("data-value"),
        )
    hint = page.locator("[data-testid='card-map-a-−-b'] .card-hint").inner_text()
    return {"hint": hint, "cells": cells, "whiskers": page.locator("line.interval").count()}


def test_compare_sends_the_deltas_at_once_and_the_interval_after(page: Any, site: Site) -> None:
    """The bootstrap is the slow part on a large project: the page comes without it, its module
    fetches it, and what arrives equals the API's interval (same resamples, same seed)."""
    a, b = "opencv-haar-hog", "mediapipe-0.10.21"
    sent = httpx.get(site.page(f"/compare?a={a}&b={b}")).text
    assert 'data-state="pending"' in sent and "95% interval: computing" in sent
    asked: list[str] = []
    page.route("**/compare/interval?*", lambda r: (asked.append(r.request.url), r.continue_()))
    page.goto(site.page(f"/compare?a={a}&b={b}"))
    shown = _interval_shown(page)
    assert len(asked) == 1 and urlsplit(asked[0]).path.endswith("/compare/interval")
    doc = site.api("/compare", a=a, b=b, resamples=200)
    boot = doc["bootstrap"]
    assert shown["hint"] == (
        f"95% interval {boot['low']:+.3f} to {boot['high']:+.3f} "
        f"(bootstrap over images, {boot['n_resamples']} resamples)"
    )
    finite = 0
    for c in doc["per_class"]:
        low, high = c["AP"].get("low"), c["AP"].get("high")
        text, value = shown["cells"][c["name"]]
        if low is None or high is None:
            assert text == "n/a"
        else:
            finite += 1
            assert text == f"{low:+.3f} to {high:+.3f}" and float(value) == low
    assert finite > 0 and shown["whiskers"] == finite
    page.get_by_role("button", name="95% interval").click()  # the new table sorts too
    assert page.locator("th[aria-sort='descending']").inner_text().startswith("95%")
    # without script: the notice's link computes the same interval in the page
    page.unroute("**/compare/interval?*")
    page.goto(site.page(f"/compare?a={a}&b={b}&interval=inline"))
    page.wait_for_selector("body[data-ready='true']")
    assert _interval_shown(page) == shown


def test_a_failed_interval_says_why(page: Any, site: Site, problems: PageProblems) -> None:
    problems.allow("/compare/interval")
    page.route(
        "**/compare/interval?*",
        lambda r: r.fulfill(
            status=503,
            content_type="text/html",
            body="<p data-testid='error'>the server is busy</p>",
        ),
    )
    page.goto(site.page("/compare?a=opencv-haar-hog&b=mediapipe-0.10.21"))
    page.locator("[data-testid='interval'][data-state='failed']").wait_for()
    text = page.locator("[data-testid='interval-pending']").inner_text()
    assert "could not be computed: the server is busy" in text
    assert page.locator("[data-testid='interval-pending'] a").is_visible()  # still a way on


def test_starting_an_analysis_follows_it_to_the_summary(page: Any, site: Site) -> None:
    _open(page, site.page(""))
    page.locator("[data-testid='actions'] button", has_text="Analyse rapidocr-1.4.4").click()
    page.wait_for_url("**/summary?set=rapidocr-1.4.4", timeout=60_000)
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("[data-testid='card-map']").count() == 1


# Logs what a run page shows, each time it changes, into sessionStorage (it survives the page's
# own move to the results): state, stage text, count text, progress value and maximum.
RUN_LOG = """
new MutationObserver(() => {
  const s = document.querySelector("section.run");
  if (!s) return;
  const q = (sel) => s.querySelector(sel);
  const shown = [s.dataset.state, q(".run-stage")?.textContent.trim(),
                 q(".run-count")?.textContent.trim(), q("progress")?.value, q("progress")?.max];
  const log = JSON.parse(sessionStorage.getItem("runlog") || "[]");
  if (JSON.stringify(log[log.length - 1]) !== JSON.stringify(shown)) {
    log.push(shown);
    sessionStorage.setItem("runlog", JSON.stringify(log));
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def test_the_run_page_shows_each_progress_the_server_reports(page: Any, site: Site) -> None:
    """Every status the server answered the page's polls with is what the page showed."""
    statuses: list[dict[str, Any]] = []

    def record(route: Any) -> None:
        response = route.fetch()
        statuses.append(response.json())
        route.fulfill(response=response)

    page.context.add_init_script(RUN_LOG)
    page.route("**/runs/*/status", record)
    _open(page, site.page(""))
    page.locator("[data-testid='actions'] button", has_text="Analyse opencv-haar-hog").click()
    page.wait_for_url("**/summary?set=opencv-haar-hog", timeout=60_000)
    page.wait_for_selector("body[data-ready='true']")
    log = [tuple(e) for e in json.loads(page.evaluate("sessionStorage.getItem('runlog')"))]
    assert log and log[-1][0] == "done", log
    # (a run that ends before its page arrives is followed without a poll: statuses stay empty)
    assert not statuses or statuses[-1]["state"] == "done"
    for s in statuses:
        total = s["total"] or 0
        stage = s["stage"] or s["state"]
        count = f"{s['done']} / {total}" if total else ""
        value = (total or 1) if s["state"] == "done" else (s["done"] or 0)
        assert (s["state"], stage, count, value, total or 1) in log, (s, log)


def test_a_run_that_finished_before_its_page_opened_is_followed(page: Any, site: Site) -> None:
    """A small run on a busy machine ends before its page arrives: the page still follows it."""

    response = page.request.post(site.page("/analyse"), form={"set": "mediapipe-0.10.21"})
    assert response.ok and "/runs/" in response.url
    job = response.url.rsplit("/runs/", 1)[1].split("?")[0]
    deadline = time.monotonic() + 120
    while site.http.get(f"/api/jobs/{job}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(0.1)
    page.goto(response.url)
    page.wait_for_url("**/summary?set=mediapipe-0.10.21", timeout=30_000)
    page.wait_for_selector("body[data-ready='true']")


def test_a_failed_analysis_shows_its_message(page: Any, site: Site, problems: PageProblems) -> None:
    response = page.request.post(site.page("/analyse"), form={"set": "no-such-branch"})
    assert response.ok  # followed the redirect to the run page
    run_url = response.url
    assert "/runs/" in run_url
    _open(page, run_url)
    message = page.locator("[data-testid='run-message']")
    message.wait_for(state="visible", timeout=30_000)
    assert "no-such-branch" in message.inner_text()
    assert page.locator("section.run").get_attribute("data-state") == "failed"


def test_start_and_project_pages_link_through(page: Any, site: Site) -> None:
    _open(page, site.url + "/")
    page.locator("[data-testid='projects'] h2 a").first.click()
    page.wait_for_selector("[data-testid='branches']")
    branches = page.locator("[data-testid='branches'] tbody tr").count()
    assert branches == len(SETS) + 1
    assert page.locator("[data-testid='sets'] tbody tr").count() == len(SETS)
    page.locator("nav a", has_text="Labels").click()
    page.wait_for_selector("[data-testid='labels']")
    main = site.api("/branches")
    listed = page.locator("[data-testid='labels'] tbody tr").count()
    objects = sum(b["objects"] + b["classifications"] for b in main["items"])
    assert listed == objects


def test_the_verify_view_lists_what_predscope_labels_prints(page: Any, site: Site) -> None:
    """Every annotation of every branch, with its coordinates as the CLI prints them."""
    import subprocess
    import sys

    printed = subprocess.run(
        [sys.executable, "-m", "predscope", "labels", site.project, "--all-branches",
         "--store", site.store, "--json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    want = {
        (r["data_title"], r["branch_name"], o["object_name"], o["shape"], str(a["frame"]),
         a["coordinates_text"], o["object_hash"])
        for r in json.loads(printed)
        for o in r["objects"]
        for a in o["annotations"]
    }  # fmt: skip
    assert len(want) > 50
    shown: set[tuple[str, ...]] = set()
    _open(page, site.page("/labels"))
    while True:
        rows = page.locator("[data-testid='labels'] tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
        )
        shown |= {
            (t, b, o, s, f, c, h) for t, b, o, s, f, c, _, _, h in rows if s != "classification"
        }
        more = page.get_by_role("link", name="More rows →")
        if not more.count():
            break
        more.click()
        page.wait_for_selector("body[data-ready='true']")
    assert shown == want


def test_every_page_has_the_policy_and_errors_are_pages(
    page: Any, site: Site, problems: PageProblems
) -> None:
    for path in (
        "",
        "/summary?set=opencv-haar-hog",
        "/explore?set=opencv-haar-hog",
        "/explore?set=opencv-haar-hog&view=objects",
        f"/units/{_unit_hash(site, 'coins.png')}?set=opencv-haar-hog",
        "/properties?set=opencv-haar-hog",
        "/compare",
        "/compare/interval?a=opencv-haar-hog&b=mediapipe-0.10.21",
        "/labels",
    ):
        response = httpx.get(site.page(path))
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    problems.allow("404")
    _open(page, site.page("/summary?set=no-such-set"))
    error = page.locator("[data-testid='error']")
    assert error.get_attribute("data-code") == "not_found"
    assert "no-such-set" in error.inner_text()
    api = httpx.get(f"{site.url}/api/projects/{site.project}/branches/no-such-set/metrics")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_a_unit_without_pixels_still_shows_its_overlay(page: Any, site: Site) -> None:
    _open(page, site.page("/explore?set=opencv-haar-hog&sort=data_title"))
    tile = page.locator(".tile", has_text="size-only.png")
    assert tile.locator("img").get_attribute("src") == "/static/no-media.svg"


def test_screenshots_of_the_main_pages(page: Any, site: Site, tmp_path: Path) -> None:
    """The README's pictures come from here (``PREDSCOPE_SCREENSHOTS=DIR`` keeps them)."""
    import os

    out = Path(os.environ.get("PREDSCOPE_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    for name, path in (
        ("summary", "/summary?set=opencv-haar-hog"),
        ("explorer", "/explore?set=opencv-haar-hog"),
        ("crops", "/explore?set=opencv-haar-hog&view=objects&outcome=FP"),
        ("detail", f"/units/{_unit_hash(site, 'coins.png')}?set=opencv-haar-hog"),
        ("compare", "/compare?a=mediapipe-0.10.21&b=opencv-haar-hog"),
    ):
        _open(page, site.page(path))
        if name == "compare":
            _interval_shown(page)
        page.screenshot(path=str(out / f"{name}.png"), full_page=False)
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_where_it_fails_buckets_open_their_objects(page: Any, site: Site) -> None:
    _open(page, site.page("/properties?set=opencv-haar-hog"))
    table = page.locator("[data-testid='by-area_px']")
    gt = sum(int(v) for v in table.locator("tbody tr td:nth-child(2)").all_inner_texts())
    counts = site.api("/branches/opencv-haar-hog/metrics")["counts"][0]
    assert gt == counts["tp"] + counts["fn"]  # every evaluated ground truth has an area
    link = table.locator("td.count-fn a").filter(has_text=re.compile(r"^[1-9]")).first
    missed = int(link.inner_text())
    link.click()
    page.wait_for_selector("body[data-ready='true']")
    assert _query(page)["outcome"] == ["FN"] and _query(page)["kind"] == ["ground_truth"]
    assert page.locator(".tile").count() == missed


def test_property_importance_ranks_what_the_service_measured(page: Any, site: Site) -> None:
    from predscope.services.analysis.by_property import performance_by_property
    from predscope.store.engine import open_store

    with open_store(site.store) as store:  # the served store, read beside the server
        rows = performance_by_property(store, site.project, "opencv-haar-hog")
    _open(page, site.page("/properties?set=opencv-haar-hog"))
    table = page.locator("[data-testid='importance']")
    shown = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => [c.textContent.trim(), c.dataset.value]))"
    )
    by_title = {p["title"]: p["importance"] for p in rows}
    assert [r[0][0] for r in shown] == sorted(
        by_title, key=lambda t: -(by_title[t]["recall"]["mutual_information"] or 0.0)
    )
    for row in shown:
        want = by_title[row[0][0]]
        values = [want[side][key] for side in ("recall", "precision")
                  for key in ("mutual_information", "correlation")]  # fmt: skip
        for (text, value), v in zip(row[1:], values, strict=True):
            assert text == ("n/a" if v is None else f"{v:.3f}")
            assert (value is None) == (v is None) and (v is None or float(value) == v)
    assert any(row[1][1] is not None for row in shown)  # something was measured
    bars = page.locator("[data-testid='importance-chart'] .bar")
    assert bars.count() == len(rows)


def test_a_stale_set_says_so_and_re_analyses_from_the_notice(page: Any, site: Site) -> None:
    import predscope

    with predscope.Client(site.store) as client:  # a save beside the server: same rows, new version
        project = client.get_project(site.project)
        row = next(
            r for r in project.list_label_rows_v2(branch_name="mediapipe-0.10.21") if r.label_hash
        )
        row.initialise_labels()
        row.save()
    _open(page, site.page("/summary?set=mediapipe-0.10.21"))
    notice = page.locator("[data-testid='notice']")
    assert "changed since it was analysed" in notice.inner_text()
    assert "(stale)" in page.locator("#set-select option[value='mediapipe-0.10.21']").inner_text()
    notice.get_by_role("button", name="Re-analyse now").click()
    page.wait_for_url("**/summary?set=mediapipe-0.10.21", timeout=60_000)
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("[data-testid='notice']").count() == 0
    assert site.api("/branches/mediapipe-0.10.21/metrics")["freshness"]["fresh"] is True
