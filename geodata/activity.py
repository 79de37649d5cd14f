"""Synthetic activity over the demo district: cooling stations and a summer of events.

Events cluster where such things cluster: noise around the stadium, fire
hazards and sanitation along restaurant streets, elderly living alone in old
factory housing, illegal construction in the villages of the west.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import shapely

from geodata import district as d

CST = timezone(timedelta(hours=8))
SUMMER_START = datetime(2026, 6, 1, tzinfo=CST)
SUMMER_DAYS = 92
TOTAL_EVENTS = 100_000

CATEGORIES = {
    "noise": [
        "夜间广场舞音响声音过大",
        "体育场演出噪音扰民",
        "工地夜间施工噪音",
        "商铺外放音乐扰民",
    ],
    "safety_hazard": ["楼道堆放杂物", "电动车在楼道充电", "井盖缺失", "广告牌松动有坠落风险"],
    "illegal_construction": ["楼顶搭建彩钢房", "绿地私搭棚子", "一楼私自扩建", "违规圈占公共空间"],
    "fire_hazard": ["餐馆后厨油烟管道积油", "消防通道被占用", "灭火器过期", "私拉电线"],
    "sanitation": ["垃圾清运不及时", "道路积水", "小广告乱贴乱画", "垃圾桶满溢"],
    "elderly_help": ["独居老人需要送餐", "高温天气请探访独居老人", "老人行动不便需协助就医"],
    "municipal_facility": ["路灯不亮", "人行道砖破损", "下水道堵塞", "公交站牌损坏"],
}
_BACKGROUND = {
    "noise": 14,
    "safety_hazard": 17,
    "illegal_construction": 8,
    "fire_hazard": 9,
    "sanitation": 24,
    "elderly_help": 8,
    "municipal_facility": 20,
}
_SOURCES = (["app", "hotline", "inspection"], [0.5, 0.35, 0.15])
AMENITIES = ["空调", "饮用水", "座椅", "急救药箱", "手机充电", "无线网络", "微波炉"]


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xy = shapely.get_coordinates(d.to_lonlat(shapely.points(x, y)))
    return np.round(xy[:, 0], 6), np.round(xy[:, 1], 6)


def _uniform_in(rng, geoms: np.ndarray) -> np.ndarray:
    """One uniform random point inside each geometry (vectorised rejection)."""
    bounds = shapely.bounds(geoms)
    out = np.empty((len(geoms), 2))
    todo = np.arange(len(geoms))
    while len(todo):
        x = rng.uniform(bounds[todo, 0], bounds[todo, 2])
        y = rng.uniform(bounds[todo, 1], bounds[todo, 3])
        inside = shapely.contains_xy(geoms[todo], x, y)
        out[todo[inside]] = np.column_stack([x[inside], y[inside]])
        todo = todo[~inside]
    return out


def stations(rng, collection: dict, metric: dict) -> bytes:
    """~40 cooling stations (more in the dense east) and a few day-care centres."""
    communities = [
        f["properties"] for f in collection["features"] if len(f["properties"]["code"]) == 12
    ]
    east = np.array([shapely.centroid(metric[c["code"]]).x for c in communities])
    weight = np.exp((east - east.min()) / (east.max() - east.min()) * 1.5)
    picks = rng.choice(len(communities), 48, replace=False, p=weight / weight.sum())
    features = []
    for n, i in enumerate(picks):
        community = communities[i]
        point = _uniform_in(rng, np.array([metric[community["code"]]]))[0]
        lon, lat = _lonlat(point[:1], point[1:])
        cooling = n < 40
        kind, suffix = ("cooling", "清凉驿站") if cooling else ("daycare", "日间照料中心")
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": kind,
                    "name": community["name"] + suffix,
                    "address": community["name"]
                    + ("党群服务中心一楼" if cooling else "养老服务站"),
                    "season": "06-01/09-30" if cooling else "全年",
                    "hours": ["09:00-21:00", "08:30-20:30", "10:00-22:00"][int(rng.integers(3))],
                    "capacity": int(rng.integers(10, 41)),
                    "amenities": sorted(
                        rng.choice(AMENITIES, int(rng.integers(3, 6)), replace=False).tolist()
                    ),
                    "contact": d.person(rng)[1],
                    "community": community["code"],
                },
                "geometry": {"type": "Point", "coordinates": [float(lon[0]), float(lat[0])]},
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1
    ).encode()


def _hotspots(rng, collection: dict, metric: dict) -> list[tuple]:
    """(centre x, centre y, sigma m, count, {category: weight}) of each cluster."""
    props = {f["properties"]["code"]: f["properties"] for f in collection["features"]}
    by_kind = {p.get("kind"): code for code, p in props.items() if "Z" in code}
    spots = [
        (by_kind["stadium"], 150, 4000, {"noise": 9, "sanitation": 1}),
        (by_kind["market"], 120, 1500, {"sanitation": 6, "fire_hazard": 2, "noise": 2}),
        (by_kind["school"], 100, 500, {"safety_hazard": 8, "noise": 2}),
    ]
    old = [c for c, p in props.items() if p["name"] in ("河南纺机社区", "三棉西社区", "市场街社区")]
    for code in old:
        spots.append((code, 200, 1200, {"elderly_help": 5, "safety_hazard": 4, "fire_hazard": 1}))
    grids = sorted(c for c in props if len(c) == 15)
    for code in rng.choice([c for c in grids if c[6:9] not in d._VILLAGE_STREETS], 6):
        spots.append((str(code), 120, 1500, {"fire_hazard": 4, "sanitation": 4, "noise": 2}))
    for code in rng.choice([c for c in grids if c[6:9] in d._VILLAGE_STREETS], 4):
        spots.append((str(code), 250, 1500, {"illegal_construction": 7, "sanitation": 3}))
    out = []
    for code, sigma, count, mix in spots:
        centre = metric[code].representative_point()
        out.append((centre.x, centre.y, sigma, count, mix))
    return out


def _pick(rng, mix: dict, n: int) -> np.ndarray:
    names = list(mix)
    weights = np.array([mix[k] for k in names], dtype=float)
    return np.array(names)[rng.choice(len(names), n, p=weights / weights.sum())]


def events(rng, collection: dict, metric: dict) -> bytes:
    """A CSV of ~100,000 WGS-84 events over June-August."""
    spots = _hotspots(rng, collection, metric)
    xs, ys, cats = [], [], []
    for x, y, sigma, count, mix in spots:
        xs.append(rng.normal(x, sigma, count))
        ys.append(rng.normal(y, sigma, count))
        cats.append(_pick(rng, mix, count))
    outside = 300
    background = TOTAL_EVENTS - sum(s[3] for s in spots) - outside
    micro = [f["properties"] for f in collection["features"] if len(f["properties"]["code"]) == 17]
    weight = np.array([m["households"] for m in micro], dtype=float)
    in_micro = int(background * 0.9)
    chosen = rng.choice(len(micro), in_micro, p=weight / weight.sum())
    pts = _uniform_in(rng, np.array([metric[micro[i]["code"]] for i in chosen]))
    grids = [c for c in metric if len(c) == 15]
    loose = _uniform_in(
        rng,
        np.array([metric[grids[i]] for i in rng.integers(len(grids), size=background - in_micro)]),
    )
    ring = metric[d.DISTRICT_CODE].exterior
    spots_on_ring = shapely.line_interpolate_point(ring, rng.uniform(0, ring.length, outside))
    offset = rng.uniform(5, 400, outside)
    edge_xy = shapely.get_coordinates(spots_on_ring)
    centre = shapely.get_coordinates(metric[d.DISTRICT_CODE].centroid)[0]
    away = (edge_xy - centre) / np.linalg.norm(edge_xy - centre, axis=1)[:, None]
    far = edge_xy + away * offset[:, None]
    xs += [pts[:, 0], loose[:, 0], far[:, 0]]
    ys += [pts[:, 1], loose[:, 1], far[:, 1]]
    cats.append(_pick(rng, _BACKGROUND, background + outside))
    stadium = np.zeros(sum(len(v) for v in xs), dtype=bool)
    stadium[: spots[0][3]] = True  # the first cluster: the stadium's neighbours
    return _write_events(rng, np.concatenate(xs), np.concatenate(ys), np.concatenate(cats), stadium)


#: match and concert evenings at the stadium (days after SUMMER_START): weekly in June,
#: more often as the summer goes on, the crowds (and the complaints) growing with them
MATCH_DAYS = (5, 12, 19, 26, 33, 38, 44, 49, 54, 58, 62, 66, 70, 73, 77, 80, 84, 87, 90)


def _match_evenings(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Day and hour of ``n`` stadium complaints: on match evenings, more at later matches.

    Drawn from a generator of their own, so every other event keeps its draw.
    """
    rng = np.random.default_rng(20260605)
    days = np.array(MATCH_DAYS)
    crowd = np.linspace(1.0, 3.0, len(days))
    return rng.choice(days, n, p=crowd / crowd.sum()), rng.choice([19, 20, 21, 22], n)


def _write_events(rng, x, y, categories, stadium=None) -> bytes:
    order = rng.permutation(len(x))
    x, y, categories = x[order], y[order], categories[order]
    lon, lat = _lonlat(x, y)
    days = rng.integers(0, SUMMER_DAYS, len(x))
    heat = (categories == "elderly_help") & (rng.uniform(size=len(x)) < 0.6)
    days[heat] = rng.integers(39, 70, heat.sum())  # the July heat wave
    night = categories == "noise"
    hours = np.where(night, rng.choice([19, 20, 21, 22, 23], len(x)), rng.integers(7, 22, len(x)))
    if stadium is not None:  # the stadium's complaints come on match evenings
        at_match = stadium[order]
        days[at_match], hours[at_match] = _match_evenings(int(at_match.sum()))
    minutes = rng.integers(0, 3600, len(x))
    sources = rng.choice(_SOURCES[0], len(x), p=_SOURCES[1])
    templates = rng.integers(0, 4, len(x))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "lon", "lat", "category", "source", "reported_at", "description"])
    for i in range(len(x)):
        at = SUMMER_START + timedelta(
            days=int(days[i]), hours=int(hours[i]), seconds=int(minutes[i])
        )
        texts = CATEGORIES[categories[i]]
        writer.writerow(
            [
                i + 1,
                f"{lon[i]:.6f}",
                f"{lat[i]:.6f}",
                categories[i],
                sources[i],
                at.isoformat(),
                texts[templates[i] % len(texts)],
            ]
        )
    return buffer.getvalue().encode()
