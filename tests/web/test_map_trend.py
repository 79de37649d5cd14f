"""The map panel's "趋势 / Trends" section — for readers only, ECharts loaded lazily."""

import json
import re

import pytest

SCRIPTS = re.compile(r'<script[^>]* src="([^"]+)"')


def _start_options(html: str) -> dict:
    found = re.search(
        r'geogridTrend\.start\(document\.getElementById\("trend"\), (\{.*\})\);', html
    )
    assert found, "geogridTrend.start is not called"
    return json.loads(found.group(1))


def test_readers_get_the_trend_section_without_loading_echarts(api, tokens):
    html = api.get("/?code=410102001&category=noise", headers=tokens["view"]).get_data(as_text=True)
    assert '<details id="trend">' in html and "趋势" in html
    scripts = SCRIPTS.findall(html)
    assert "/static/trend.js" in scripts
    assert not [s for s in scripts if "echarts" in s.lower()], scripts
    opts = _start_options(html)
    assert opts["echarts"] == "/static/vendor/echarts/echarts.min.js"
    assert opts["trend"].startswith("/api/v1/stats/trend?")
    assert sorted(opts["trend"].split("?")[1].split("&")) == [
        "category=noise",
        "code=410102001",
        "days=30",
    ]
    assert opts["categories"]["noise"] == "噪音扰民"
    assert api.get(opts["trend"], headers=tokens["view"]).status_code == 200
    with api.get(opts["echarts"]) as script:  # a file response: closed here
        assert script.status_code == 200
    # the street's daily brief is one click away; a grid has no brief
    assert 'id="brief-link"\n      href="/brief.pdf?code=410102001"' in html
    grid = api.get("/?code=410102001001001", headers=tokens["view"]).get_data(as_text=True)
    assert "brief-link" not in grid


def test_english_and_the_wall_open_it(api, tokens):
    english = api.get("/?lang=en", headers=tokens["view"]).get_data(as_text=True)
    assert "Trends" in english and _start_options(english)["categories"]["noise"] == "Noise"
    wall = api.get("/?wall=1", headers=tokens["view"]).get_data(as_text=True)
    assert '<details id="trend" open>' in wall


@pytest.mark.parametrize("who", [None, "rep"])
def test_no_trend_section_for_those_who_may_not_read_stats(api, tokens, who):
    html = api.get("/", headers=tokens[who] if who else {}).get_data(as_text=True)
    assert 'id="trend"' not in html and "trend.js" not in html
    assert "echarts" not in html
