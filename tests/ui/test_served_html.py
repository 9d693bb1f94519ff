"""The HTML the real server sends for its pages, read as markup (no browser): CSP-clean, and
built from the store's own data (the ontology's colours, the API's counts)."""

from __future__ import annotations

import re

import httpx

from tests.ui.markup import start_tags
from tests.ui.served import Site


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    return start_tags(html)


def _get(url: str) -> str:
    response = httpx.get(url)
    assert response.status_code == 200, url
    return response.text


def test_served_pages_are_csp_clean(site: Site) -> None:
    """No inline script, handler or style attribute in what the templates and SVG produce."""
    paths = (
        "",
        "/summary?set=rapidocr-1.4.4",
        "/explore?set=opencv-haar-hog",
        "/compare",
        "/labels",
        "/explore?set=mediapipe-0.10.21&view=objects",
    )
    for path in paths:
        html = _get(site.page(path))
        tags = _tags(html)
        scripts = [a for t, a in tags if t == "script"]
        assert all(a.get("src") or a.get("type") == "application/json" for a in scripts), path
        assert not [(t, k) for t, a in tags for k in a if k.startswith("on") or k == "style"]
        assert "<style" not in html
    explorer = _get(site.page("/explore?set=opencv-haar-hog"))
    fp = site.api("/branches/opencv-haar-hog/objects", outcome="FP", limit=1)["total"]
    assert len(re.findall(r'class="obj pred[^"]*"[^>]*data-outcome="fp"', explorer)) == fp


def test_start_project_and_compare_pages_are_built_from_the_store(site: Site) -> None:
    start = _tags(_get(site.url + "/"))
    hrefs = [a.get("href") for t, a in start if t == "a"]
    assert (
        f"/p/{site.project}" in hrefs and f"/p/{site.project}/summary?set=opencv-haar-hog" in hrefs
    )
    project = _get(site.page(""))
    tags = _tags(project)
    swatches = [a.get("fill") for t, a in tags if t == "rect"]
    assert swatches[:3] == ["#D33115", "#FCDC00", "#009CE0"]  # the ontology's own colours
    assert re.search(r"<strong>text</strong> <span class=\"muted\">polygon</span>", project)
    units = site.api("/data-units", limit=100)["total"]
    assert f"Data units (1–{units} of {units})" in project
    compare = _get(site.page("/compare?a=mediapipe-0.10.21&b=opencv-haar-hog"))
    doc = site.api("/compare", a="mediapipe-0.10.21", b="opencv-haar-hog")
    # A - B per class, each with its bootstrap interval: significant only when it excludes 0.
    # The page comes without the intervals; its part at /compare/interval brings them.
    rows = doc["per_class"]
    assert compare.count('class="interval"') == 0 and 'data-state="pending"' in compare
    part = _get(site.page("/compare/interval?a=mediapipe-0.10.21&b=opencv-haar-hog"))
    assert part.lstrip().startswith('<section id="compare-interval"')  # the part alone
    with_interval = [r for r in rows if r["AP"].get("low") is not None]
    assert part.count('class="interval"') == len(with_interval) > 0
    significant = [r for r in with_interval if r["AP"]["low"] > 0 or r["AP"]["high"] < 0]
    unclear = len(rows) - len(significant)
    assert part.count('class="delta unclear"') == unclear
    for html in (compare, part):
        values = re.findall(r'class="bar-value"[^>]*>([^<]*)<', html)
        assert [v.split(" [")[0] for v in values] == [f"{c['AP']['delta']:+.3f}" for c in rows]
    changed = doc["changed"]["found_by_a_missed_by_b"] + doc["changed"]["found_by_b_missed_by_a"]
    assert f"Ground truth whose outcome changed at IoU 0.50 ({changed} shown)" in compare
