"""Synthetic boundaries of a district shaped after Zhongyuan District, Zhengzhou.

Everything is made up in a local metric frame and mapped to lon/lat by one
affine transform. Three-level grids are whole Voronoi cells of a jittered
lattice, so neighbours share their edges exactly; communities, streets and the
district are unions of grids, so every child lies exactly within its parent.
"""

from __future__ import annotations

import numpy as np
import shapely

ORIGIN = (113.57, 34.78)
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(ORIGIN[1]))
DISTRICT_CODE = "410102"

# West to east, roughly as the real streets lie.
STREETS = [
    ("012", "须水街道"),
    ("011", "西流湖街道"),
    ("013", "莲湖街道"),
    ("010", "中原西路街道"),
    ("009", "航海西路街道"),
    ("004", "秦岭路街道"),
    ("003", "棉纺路街道"),
    ("008", "汝河路街道"),
    ("005", "桐柏路街道"),
    ("007", "绿东村街道"),
    ("006", "三官庙街道"),
    ("002", "建设路街道"),
    ("001", "林山寨街道"),
]
NAMED_COMMUNITIES = {
    "006": ["河南纺机社区"],
    "009": ["茜城花园社区"],
    "002": ["市场街社区"],
    "004": ["秦江社区"],
    "013": ["阳光花苑社区"],
    "003": ["三棉西社区", "锦绣城社区"],
}
_COMMUNITY_STEMS = [
    "桐柏",
    "伏牛",
    "工人",
    "绿城",
    "百花",
    "嵩山",
    "华山",
    "汝河",
    "淮河",
    "航海",
    "友爱",
    "兴华",
    "锦艺",
    "碧沙岗",
    "工农",
    "红旗",
    "文化宫",
    "电厂",
    "铁路",
    "常庄",
    "孙庄",
    "柿园",
    "后河芦",
    "董岗",
    "岗坡",
    "郭家咀",
    "南屯",
    "闫垌",
    "冉屯",
    "五龙口",
    "桐淮",
    "伊河",
    "颍河",
    "洛河",
    "沁河",
    "湘江",
    "漓江",
    "天山",
    "昆仑",
    "泰山",
    "衡山",
    "中苑",
    "西苑",
    "东苑",
    "朝阳",
    "晨光",
    "春晖",
    "嵩岳",
    "建新",
    "百合",
    "梧桐",
    "枫杨",
    "绿洲",
    "和平",
    "幸福",
    "祥和",
    "育英",
    "陇海",
    "林山",
    "秦岭",
    "棉纺",
    "西站",
    "杨树",
    "桃园",
    "金桥",
]
_VILLAGE_STREETS = {"012", "011"}
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗")
GIVEN = [
    "芳",
    "伟",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂兰",
    "建国",
    "红梅",
    "志强",
    "海燕",
    "玉梅",
]
DEDICATED = [  # (kind, name, width m, height m)
    ("enterprise", "中原科创产业园", 420, 300),
    ("school", "第五十七中学", 220, 160),
    ("hospital", "中原区人民医院", 200, 180),
    ("stadium", "中原体育中心", 380, 280),
    ("market", "西站农贸市场", 160, 120),
]


def to_lonlat(geom):
    """Map a geometry from the local metric frame to lon/lat (7 decimals, ~1 cm)."""
    return shapely.transform(
        geom,
        lambda xy: np.round(
            np.column_stack(
                [ORIGIN[0] + xy[:, 0] / _M_PER_DEG_LON, ORIGIN[1] + xy[:, 1] / _M_PER_DEG_LAT]
            ),
            7,
        ),
    )


def outline(rng: np.random.Generator) -> shapely.Polygon:
    """A smooth irregular blob of ~190 km², elongated west-east."""
    theta = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    phases = rng.uniform(0, 2 * np.pi, 4)
    r = 1 + 0.12 * np.sin(2 * theta + phases[0]) + 0.07 * np.sin(3 * theta + phases[1])
    r += 0.04 * np.sin(5 * theta + phases[2]) + 0.02 * np.sin(9 * theta + phases[3])
    blob = shapely.Polygon(np.column_stack([1.55 * np.cos(theta) * r, 0.65 * np.sin(theta) * r]))
    return shapely.affinity.scale(blob, *(2 * [np.sqrt(190e6 / blob.area)]), origin=(0, 0))


def grid_cells(rng: np.random.Generator, blob, spacing: float = 383.0):
    """Voronoi cells of a jittered hexagonal lattice whose seeds fall in ``blob``."""
    x0, y0, x1, y1 = blob.bounds
    rows = np.arange(y0 - spacing, y1 + spacing, spacing * np.sqrt(3) / 2)
    seeds = []
    for i, y in enumerate(rows):
        xs = np.arange(x0 - spacing, x1 + spacing, spacing) + (spacing / 2) * (i % 2)
        seeds.append(np.column_stack([xs, np.full(len(xs), y)]))
    seeds = np.vstack(seeds) + rng.normal(0, spacing * 0.18, (sum(len(s) for s in seeds), 2))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(seeds),
            extend_to=shapely.box(x0, y0, x1, y1).buffer(4 * spacing),
            ordered=True,
        )
    )
    keep = shapely.contains_xy(blob, seeds[:, 0], seeds[:, 1])
    return cells[keep]


def kmeans(points: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 25) -> np.ndarray:
    """Labels of a small deterministic k-means (compact streets and communities)."""
    centres = points[rng.choice(len(points), k, replace=False)]
    for _ in range(rounds):
        labels = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        centres = np.array(
            [points[labels == j].mean(0) if np.any(labels == j) else centres[j] for j in range(k)]
        )
    return np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)


def reading_order(points: np.ndarray, band: float) -> np.ndarray:
    """Indices ordered north to south in bands of ``band`` metres, west to east in each."""
    return np.lexsort((points[:, 0], -np.floor(points[:, 1] / band)))


def person(rng: np.random.Generator) -> tuple[str, str]:
    """A synthetic resident: a common name and a mobile number."""
    name = SURNAMES[rng.integers(len(SURNAMES))] + GIVEN[rng.integers(len(GIVEN))]
    phone = f"1{rng.choice([38, 39, 58, 59, 86, 87])}{rng.integers(0, 10**8):08d}"
    return name, phone


def micro_cells(rng: np.random.Generator, cell, count: int) -> list:
    """Buildings and courtyards inside one grid: most of it, not all (roads, parks)."""
    x0, y0, x1, y1 = cell.bounds
    seeds = []
    while len(seeds) < count:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if cell.contains(shapely.Point(x, y)):
            seeds.append((x, y))
    seeds = np.array(seeds)
    parts = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(seeds), extend_to=cell.buffer(50), ordered=True
        )
    )
    out = []
    for seed, part in zip(seeds, parts, strict=True):
        roll = rng.uniform()
        if roll < 0.08:
            continue  # a park or a square: no micro grid
        piece = shapely.intersection(part, cell)
        if roll < 0.45:
            piece = piece.buffer(-4.0, join_style="mitre")  # a lane around the courtyard
        if piece.is_empty or piece.area < 200:
            continue
        if piece.geom_type == "MultiPolygon":
            piece = max(piece.geoms, key=lambda p: p.area)
        out.append((seed, piece))
    return out
