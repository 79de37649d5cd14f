"""Small grids built inline for tests.

The small district (all rectangles, so points on edges are exact floats)::

    street 410102001 (x 113.50-113.55)        street 410102002 (x 113.55-113.60)
    community 001 (y 34.70-34.73): grids 001 | 002 (split at x 113.525)
    community 002 (y 34.73-34.76): grid 001   community 001: grids 001 (south) | 002 (north)
    micro 01 | 02 inside grid 410102001001001, sharing the edge x 113.51
    dedicated 410102002001Z01 over both grids of street 002
"""

from __future__ import annotations


def rect(code, name, x0, y0, x1, y1, **props) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def small_features() -> list[dict]:
    return [
        rect("410102", "示例区", 113.50, 34.70, 113.60, 34.76),
        rect("410102001", "林山寨街道", 113.50, 34.70, 113.55, 34.76),
        rect("410102002", "建设路街道", 113.55, 34.70, 113.60, 34.76),
        rect("410102001001", "甲社区", 113.50, 34.70, 113.55, 34.73),
        rect("410102001002", "乙社区", 113.50, 34.73, 113.55, 34.76),
        rect("410102002001", "市场街社区", 113.55, 34.70, 113.60, 34.76),
        rect(
            "410102001001001",
            "甲社区第1网格",
            113.50,
            34.70,
            113.525,
            34.73,
            leader="王芳",
            phone="13812341234",
        ),
        rect("410102001001002", "甲社区第2网格", 113.525, 34.70, 113.55, 34.73),
        rect("410102001002001", "乙社区第1网格", 113.50, 34.73, 113.55, 34.76),
        rect("410102002001001", "市场街第1网格", 113.55, 34.70, 113.60, 34.73),
        rect("410102002001002", "市场街第2网格", 113.55, 34.73, 113.60, 34.76),
        rect("41010200100100101", "1号楼", 113.505, 34.705, 113.51, 34.71),
        rect("41010200100100102", "2号楼", 113.51, 34.705, 113.515, 34.71),
        rect("410102002001Z01", "体育中心", 113.57, 34.72, 113.58, 34.74),
    ]


def collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}
