"""The core imports neither Flask nor folium; maps imports no Flask."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("geogrid", ("flask", "folium")),
        ("geogrid.cli", ("flask", "folium")),
        ("maps", ("flask",)),
    ],
)
def test_import_does_not_load(package, forbidden):
    code = f"import sys, {package}; print(' '.join(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
