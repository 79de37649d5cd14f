"""The wheel holds what the product reads, and works installed outside the checkout.

Built with this environment's setuptools (no download), installed with --no-deps
into a fresh virtual environment that sees this one's dependencies through a
.pth file, and run from a directory outside the checkout.
"""

import json
import os
import subprocess
import sys
import sysconfig
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from devtools.served import free_port, wait_until_up

CHECKOUT = Path(__file__).resolve().parents[1]
# every file the product reads at run time, besides its modules
DATA = [
    "geogrid/cases/categories.toml",
    "geogrid/storage/migrations/script.py.mako",
    "geogrid/storage/migrations/versions/0001_initial.py",
    "maps/static/geogrid-map.js",
    "web/templates/map.html",
    "web/static/vendor/leaflet/leaflet.js",
    "web/static/vendor/leaflet/images/marker-icon.png",
    "web/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
    "web/static/vendor/leaflet.heat/leaflet-heat.js",
    "web/static/vendor/echarts/echarts.min.js",
    "web/static/trend.js",
    "geodata/demo/grids.geojson.gz",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            out,
            CHECKOUT,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "warning" not in (build.stdout + build.stderr).lower(), build.stderr
    (found,) = out.glob("geogrid-*.whl")
    return found


def test_the_wheel_holds_every_data_file_and_no_tooling(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert [name for name in DATA if name not in names] == []
    templates = sorted(p.name for p in (CHECKOUT / "web" / "templates").iterdir())
    assert [t for t in templates if f"web/templates/{t}" not in names] == []
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "geogrid",
        "web",
        "maps",
        "geodata",
        wheel.name.split("-")[0] + "-0.1.0.dist-info",
    }
    assert not [n for n in names if "bench" in n or "devtools" in n or n.startswith("tests")]


def test_the_installed_wheel_works_outside_the_checkout(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / "bin"
    site = subprocess.run(
        [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # this environment's dependencies, not its (editable) geogrid: a plain path line
    # does not run the .pth files of the directory it adds
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(bin_dir / "python")]
    subprocess.run([*pip, "install", "--no-deps", "--quiet", str(wheel)], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEOGRID_", "PYTHON"))}
    env["GEOGRID_SECRET_KEY"] = "wheel-test"

    def geogrid(*args: str) -> str:
        done = subprocess.run(
            [bin_dir / "geogrid", *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run(
        [
            bin_dir / "python",
            "-c",
            "import geogrid, geodata; print(geogrid.__file__, geodata.GRIDS)",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(env_dir)) and where[1].startswith(str(env_dir))
    assert "store ready" in geogrid("init")
    assert "generation 1 active" in geogrid("import-grids", where[1])
    chain = json.loads(geogrid("locate", "113.575", "34.745"))
    assert chain["method"] == "inside" and chain["grid"].startswith("410102")
    geogrid("map", "--out", "map.html")
    page = (work / "map.html").read_text(encoding="utf-8")
    assert "Every user-supplied string reaches the page through" in page  # the helper script
    assert "L.map(" in page
    assert "bench" not in geogrid("--help")
    port = free_port()
    server = subprocess.Popen(
        [bin_dir / "geogrid", "serve", f"--port={port}"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)
        with urllib.request.urlopen(base + "/", timeout=60) as answer:
            page = answer.read().decode()
        assert answer.status == 200
        assert "Every user-supplied string reaches the page through" in page  # the helper
    finally:
        server.terminate()
        server.wait(timeout=30)
