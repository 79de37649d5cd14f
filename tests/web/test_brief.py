"""The daily brief: one A4 PDF page whose text holds the street and the day's figures.

The PDF is checked as a reader would get it: rendered by poppler (pdftoppm)
and read back as text (pdftotext -layout); the figures expected are asked of
``/api/v1/stats`` for the same days, not of the brief's own code.
"""

import json
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from click.testing import CliRunner
from PIL import Image
from requests_json import patch_event

from geogrid.cli import main

IN_GRID = {"lon": 113.507, "lat": 34.707}  # 甲社区第1网格, 林山寨街道
FLOW = ("accepted", "dispatched", "handling", "resolved", "closed")
DAY = "2026-07-01"

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils missing: run tools/system-packages"
)


def post(api, headers, category, reported_at) -> int:
    body = {**IN_GRID, "category": category, "reported_at": reported_at}
    answer = api.post(
        "/api/v1/events", data=json.dumps(body), headers=headers, content_type="application/json"
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


@pytest.fixture
def day_cases(api, tokens, clock):
    """Two new cases today, one yesterday, one closed on time today, one a week ago."""
    closed = post(api, tokens["rep"], "noise", "2026-06-29T08:00:00+08:00")  # due today 12:00
    post(api, tokens["rep"], "noise", "2026-07-01T09:00:00+08:00")
    post(api, tokens["rep"], "sanitation", "2026-07-01T10:00:00+08:00")
    post(api, tokens["rep"], "sanitation", "2026-06-30T10:00:00+08:00")
    post(api, tokens["rep"], "fire_hazard", "2026-06-24T10:00:00+08:00")  # overdue since the 25th
    now = clock.now
    clock.now = now - timedelta(hours=1)
    for status in FLOW:
        clock.now += timedelta(minutes=5)
        assert patch_event(api, closed, {"status": status}, tokens["adm"]).status_code == 200
    clock.now = now


def day_stats(api, tokens, day: str) -> dict:
    start = f"{day}T00:00:00%2B08:00"
    end = f"{day}T23:59:59.999999%2B08:00"
    query = f"code=410102001&from={start}&to={end}"
    return api.get(f"/api/v1/stats?{query}", headers=tokens["view"]).get_json()


def pdf_text(tmp_path, pdf: bytes) -> str:
    path = tmp_path / "brief.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "20", "-png", path, tmp_path / "page"], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    with Image.open(pages[0]) as image:
        width, height = image.size
    # A4 (210 × 297 mm) at 20 dpi, to the pixel poppler rounds to
    assert abs(width - 210 / 25.4 * 20) < 1 and abs(height - 297 / 25.4 * 20) < 1
    out = subprocess.run(
        ["pdftotext", "-layout", path, "-"], check=True, capture_output=True, text=True
    )
    return out.stdout


def pct(rate) -> str:
    return "—" if rate is None else f"{rate:.2f}%"


def test_the_brief_holds_the_street_and_the_day_figures(api, tokens, day_cases, tmp_path):
    answer = api.get(f"/brief.pdf?date={DAY}&code=410102001", headers=tokens["view"])
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = pdf_text(tmp_path, answer.data)
    assert "林山寨街道 网格化治理日报" in text and "2026年7月1日" in text
    today, yesterday, week = (day_stats(api, tokens, d) for d in (DAY, "2026-06-30", "2026-06-24"))
    assert (today["reported"], yesterday["reported"], week["reported"]) == (2, 1, 1)
    assert (today["closed"], today["closure_rate"], today["on_time_rate"]) == (1, 100.0, 100.0)
    row = r"\s+".join(str(s["reported"]) for s in (today, yesterday, week))
    assert re.search(rf"新增上报\s+{row}", text)
    row = r"\s+".join(re.escape(pct(s["closure_rate"])) for s in (today, yesterday, week))
    assert re.search(rf"结案率\s+{row}", text)
    row = r"\s+".join(re.escape(pct(s["on_time_rate"])) for s in (today, yesterday, week))
    assert re.search(rf"按期结案率\s+{row}", text)
    # open at the day's end: today's two, yesterday's, the fire hazard (overdue since the 25th)
    assert re.search(r"超期未结\s+1\s+1\s+0", text)
    assert re.search(r"在办案件\s+4\s+3\s+1", text)
    assert re.search(r"1\s+甲社区第1网格\s+2\s+4", text)  # the top grid: 2 new, 4 open


def test_a_community_brief_and_a_street_operator(api, tokens, day_cases, tmp_path):
    answer = api.get(f"/brief.pdf?date={DAY}&code=410102001001", headers=tokens["op1"])
    assert answer.status_code == 200
    assert "甲社区 网格化治理日报" in pdf_text(tmp_path, answer.data)


@pytest.mark.parametrize(
    ("role", "code", "status", "message"),
    [
        ("rep", "410102001", 403, "role 'reporter' may not read events"),
        ("op2", "410102001", 403, "code: '410102001' is outside your scope (410102002)"),
        ("op2", "410102001001", 403, "code: '410102001001' is outside your scope (410102002)"),
    ],
)
def test_who_may_read_a_brief(api, tokens, role, code, status, message):
    answer = api.get(f"/brief.pdf?date={DAY}&code={code}", headers=tokens[role])
    assert answer.status_code == status
    assert answer.get_json()["error"]["message"] == message


def test_someone_not_logged_in_is_sent_to_log_in(api):
    answer = api.get(f"/brief.pdf?date={DAY}&code=410102001")
    assert answer.status_code == 302 and "/login?next=" in answer.headers["Location"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "date=2026-13-01&code=410102001",
            "date",
            "expected a date as YYYY-MM-DD, got '2026-13-01'",
        ),
        ("date=2026-07-02&code=410102001", "date", "expected a day from 2000-01-01 to today"),
        ("date=2026-07-01", "code", "is required: a street or community code"),
        ("code=41", "code", "code '41' is not a grid code"),
        ("code=410102001001001", "code", "expected a street or community code, got the grid"),
        ("code=410102009", "code", "no street or community '410102009' in the active generation"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, tokens, query, field, message):
    answer = api.get(f"/brief.pdf?{query}", headers=tokens["adm"])
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["details"][0]["field"] == field
    assert error["message"].startswith(f"{field}: {message}")


def test_the_cli_writes_the_pdf(store, tmp_path):
    out = tmp_path / "brief.pdf"
    args = ["--database", store.url, "brief", "--date", DAY, "--code", "410102002", "--out"]
    result = CliRunner().invoke(main, [*args, str(out)])
    assert result.exit_code == 0, result.output
    assert "brief of 建设路街道 (410102002) for 2026-07-01" in result.output
    assert "建设路街道 网格化治理日报" in pdf_text(tmp_path, out.read_bytes())
    bad = CliRunner().invoke(main, [*args[:-2], "410102002001001", "--out", str(out)])
    assert bad.exit_code == 2
    assert "Invalid value for --code: expected a street or community code" in bad.output


def test_a_dollar_in_a_name_is_printed_as_it_is(store, tmp_path):
    import dataclasses
    from datetime import UTC, date, datetime

    from geogrid.reports.brief import brief_of
    from geogrid.reports.briefpdf import render_brief

    found = brief_of(store, "410102001", date(2026, 7, 1), datetime(2026, 7, 2, tzinfo=UTC))
    odd = dataclasses.replace(found, name=r"费用$\frac{1}$街道")  # TeX to matplotlib
    assert r"费用$\frac{1}$街道 网格化治理日报" in pdf_text(tmp_path, render_brief(odd, {}))
