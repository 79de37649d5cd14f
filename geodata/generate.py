"""Write the demo district: ``python -m geodata.generate [--seed N] [--out DIR]``.

Same seed, same bytes. Everything here is synthetic (see README.md).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
from pathlib import Path

import numpy as np
import shapely

from geodata import DEMO_DIR, activity
from geodata import district as d

SEED = 20260601


def boundaries(rng: np.random.Generator) -> list[dict]:
    """Features of every level, outermost first, geometries in the metric frame."""
    blob = d.outline(rng)
    cells = d.grid_cells(rng, blob)
    centres = shapely.get_coordinates(shapely.centroid(cells))
    labels = d.kmeans(centres, len(d.STREETS), rng)
    west_to_east = np.argsort([centres[labels == j, 0].mean() for j in range(len(d.STREETS))])
    stems = list(rng.permutation(d._COMMUNITY_STEMS))
    out = [_feature(d.DISTRICT_CODE, "中原区（示例）", shapely.union_all(cells), {})]
    for rank, label in enumerate(west_to_east):
        street_code, street_name = d.STREETS[rank]
        code = d.DISTRICT_CODE + street_code
        members = np.flatnonzero(labels == label)
        out.append(_feature(code, street_name, shapely.union_all(cells[members]), _staff(rng)))
        out.extend(_communities(rng, code, members, cells, centres, stems))
    out.extend(_dedicated(rng, out))
    return out


def _communities(rng, street, members, cells, centres, stems) -> list[dict]:
    k = max(2, round(60 * len(members) / len(cells)))
    labels = d.kmeans(centres[members], k, rng)
    middles = np.array([centres[members[labels == j]].mean(0) for j in range(k)])
    names = list(d.NAMED_COMMUNITIES.get(street[-3:], []))
    village = street[-3:] in d._VILLAGE_STREETS
    out = []
    for number, j in enumerate(d.reading_order(middles, 1500.0), start=1):
        code = f"{street}{number:03d}"
        name = names.pop(0) if names else stems.pop() + ("村" if village and j % 2 else "社区")
        own = members[labels == j]
        below = []
        for g_number, i in enumerate(d.reading_order(centres[own], 300.0), start=1):
            below.extend(
                _grid(rng, f"{code}{g_number:03d}", f"{name}第{g_number}网格", cells[own[i]])
            )
        households = sum(
            f["properties"]["households"] for f in below if len(f["properties"]["code"]) == 15
        )
        out.append(
            _feature(
                code, name, shapely.union_all(cells[own]), {**_staff(rng), "households": households}
            )
        )
        out.extend(below)
    return out


def _grid(rng, code: str, name: str, cell) -> list[dict]:
    pieces = d.micro_cells(rng, cell, int(rng.integers(12, 19)))
    seeds = np.array([seed for seed, _ in pieces]).reshape(-1, 2)
    micro = []
    for number, i in enumerate(d.reading_order(seeds, 60.0), start=1):
        households = int(rng.integers(30, 51))
        kind = "号楼" if rng.uniform() < 0.7 else "号院"
        micro.append(
            _feature(
                f"{code}{number:02d}",
                f"{number}{kind}",
                pieces[i][1],
                {**_staff(rng), "households": households},
            )
        )
    households = max(300, min(500, sum(m["properties"]["households"] for m in micro)))
    grid = _feature(
        code,
        name,
        cell,
        {
            **_staff(rng),
            "households": households,
            "population": int(households * rng.uniform(2.4, 3.1)),
        },
    )
    return [grid, *micro]


def _dedicated(rng, features: list[dict]) -> list[dict]:
    communities = [f for f in features if len(f["properties"]["code"]) == 12]
    picks = rng.choice(len(communities), len(d.DEDICATED), replace=False)
    out = []
    for (kind, name, width, height), i in zip(d.DEDICATED, picks, strict=True):
        community = communities[i]
        centre = community["_geometry"].representative_point()
        box = shapely.box(
            centre.x - width / 2, centre.y - height / 2, centre.x + width / 2, centre.y + height / 2
        )
        shape = shapely.intersection(box, community["_geometry"])
        if shape.geom_type != "Polygon":
            shape = max(shapely.get_parts(shape), key=lambda p: p.area)
        code = community["properties"]["code"] + "Z01"
        out.append(_feature(code, name, shape, {**_staff(rng), "kind": kind}))
    return out


def _staff(rng) -> dict:
    leader, phone = d.person(rng)
    return {"leader": leader, "phone": phone}


def _feature(code: str, name: str, geom, attributes: dict) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **attributes},
        "_geometry": geom,
    }


def _finish(features: list[dict]) -> dict:
    lonlat = {f["properties"]["code"]: d.to_lonlat(f.pop("_geometry")) for f in features}
    for feature in features:
        code = feature["properties"]["code"]
        geom = lonlat[code]
        if len(code) == 17:
            # clip to the grid as rounded: rounding each separately lets a micro grid
            # poke out of its grid by a centimetre along a whole edge (a sliver)
            geom = shapely.intersection(geom, lonlat[code[:15]])
            if geom.geom_type != "Polygon":
                geom = max(shapely.get_parts(geom), key=lambda p: p.area)
        feature["geometry"] = geom.__geo_interface__
    features.sort(
        key=lambda f: (
            len(f["properties"]["code"]) if "Z" not in f["properties"]["code"] else 99,
            f["properties"]["code"],
        )
    )
    return {
        "type": "FeatureCollection",
        "name": "中原区（示例） synthetic demo district",
        "features": features,
    }


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp, no file name)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return buffer.getvalue()


def generate(seed: int = SEED) -> dict[str, bytes]:
    """Every demo file's (uncompressed) bytes, by file name."""
    rng = np.random.default_rng(seed)
    features = boundaries(rng)
    metric = {f["properties"]["code"]: f["_geometry"] for f in features}
    collection = _finish(features)
    grids = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()
    stations = activity.stations(rng, collection, metric)
    events = activity.events(rng, collection, metric)
    return {"grids.geojson": grids, "stations.geojson": stations, "events.csv": events}


def main(argv: list[str] | None = None) -> None:
    """Write the demo district's files (the command line of this module)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in generate(args.seed).items():
        if (name.endswith(".geojson") and name != "stations.geojson") or name.endswith(".csv"):
            (args.out / f"{name}.gz").write_bytes(gzip_bytes(data))
        else:
            (args.out / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
