"""The bundled demo district: what the issue asks of it, and same seed, same bytes."""

import collections
import gzip

import pytest

import geodata
from geodata.generate import generate, gzip_bytes


@pytest.mark.slow
def test_regenerating_gives_the_bundled_bytes():
    files = generate()
    assert files["grids.geojson"] == gzip.decompress(geodata.GRIDS.read_bytes())
    assert files["events.csv"] == gzip.decompress(geodata.EVENTS.read_bytes())
    assert files["stations.geojson"] == geodata.STATIONS.read_bytes()


def test_gzip_has_no_timestamp():
    assert gzip_bytes(b"abc") == gzip_bytes(b"abc")
    assert gzip_bytes(b"abc")[4:8] == b"\0\0\0\0"


def test_demo_district_has_the_promised_shape(demo_grids):
    levels = collections.Counter(g.level for g in demo_grids)
    assert levels["street"] == 13
    assert 50 <= levels["community"] <= 70
    assert 1300 <= levels["grid"] <= 1700
    assert 18_000 <= levels["micro"] <= 22_000
    assert 4 <= levels["dedicated"] <= 8
    names = {g.code: g.name for g in demo_grids}
    assert names["410102006"] == "三官庙街道" and names["410102013"] == "莲湖街道"
    community = {g.name: g.code[:9] for g in demo_grids if g.level == "community"}
    assert community["河南纺机社区"] == "410102006"
    assert community["茜城花园社区"] == "410102009"
    assert community["锦绣城社区"] == community["三棉西社区"] == "410102003"


def test_demo_readme_says_synthetic():
    text = (geodata.DEMO_DIR.parent / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in text.lower()
