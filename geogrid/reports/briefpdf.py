"""The daily brief drawn on one A4 page, as PDF (or PNG), offline.

matplotlib's object API only (a :class:`~matplotlib.figure.Figure` and its
own canvas, never pyplot's global figures), so a web server's threads can
draw at once. The Chinese font is Debian's WenQuanYi Micro Hei
(``fonts-wqy-microhei``), read from the disk: nothing is fetched. The
font is set process-wide once (``font.sans-serif``): geogrid draws nothing
else with matplotlib.
"""

from __future__ import annotations

import io
import itertools
import math
import threading
from pathlib import Path

import matplotlib as mpl
import numpy as np
import shapely
from matplotlib import font_manager, patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import MaxNLocator

from geogrid.errors import GeoGridError
from geogrid.reports.brief import Brief

__all__ = ["CJK_FONTS", "render_brief"]

#: where Debian's fonts-wqy packages put their fonts, first found is used
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
_A4_INCHES = (8.27, 11.69)
_WEEKDAYS = "一二三四五六日"
_COLUMNS = (("day", "当日"), ("yesterday", "昨日"), ("last_week", "上周同日"))
_ROWS = (
    ("reported", "新增上报"),
    ("closed", "结案"),
    ("closure_rate", "结案率"),
    ("on_time_rate", "按期结案率"),
    ("overdue_open", "超期未结"),
    ("open", "在办案件"),
)
_FONT_LOCK = threading.Lock()
# WenQuanYi Micro Hei has no bold face, and text drawn with path effects becomes outlines
# (not searchable in the PDF): headings stand out by size and colour instead
_HEAD = "#7a1010"
_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]
_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#bab0ac")


def _use_cjk_font() -> None:
    """Register the WenQuanYi font with matplotlib (once) and make it the sans-serif."""
    with _FONT_LOCK:
        if mpl.rcParams.get("pdf.fonttype") == 42 and mpl.rcParams["font.family"] == ["sans-serif"]:
            first = mpl.rcParams["font.sans-serif"][0]
            if first.startswith("WenQuanYi"):
                return
        path = next((p for p in CJK_FONTS if Path(p).is_file()), None)
        if path is None:
            raise GeoGridError(
                "no Chinese font: install Debian's fonts-wqy-microhei (tools/system-packages)"
            )
        font_manager.fontManager.addfont(path)
        name = font_manager.FontProperties(fname=path).get_name()
        mpl.rcParams["font.sans-serif"] = [name, *mpl.rcParams["font.sans-serif"]]
        mpl.rcParams["font.family"] = ["sans-serif"]
        mpl.rcParams["axes.unicode_minus"] = False
        mpl.rcParams["pdf.fonttype"] = 42  # TrueType in the PDF: its text can be searched
        mpl.rcParams["text.parse_math"] = False  # a "$" in a name is a dollar, not TeX


def render_brief(brief: Brief, category_names: dict[str, str], fmt: str = "pdf") -> bytes:
    """The brief as one A4 page: ``pdf``, or ``png`` (150 dpi) to look at.

    ``category_names`` maps category codes to the names printed (codes if absent).
    """
    if fmt not in ("pdf", "png"):
        raise ValueError(f"fmt must be 'pdf' or 'png', got {fmt!r}")
    _use_cjk_font()
    fig = Figure(figsize=_A4_INCHES)
    _title(fig, brief)
    _map(fig.add_axes((0.04, 0.45, 0.5, 0.44)), fig, brief)
    _kpi_table(fig.add_axes((0.58, 0.69, 0.38, 0.2)), brief)
    _top_table(fig.add_axes((0.58, 0.45, 0.38, 0.22)), brief)
    _trend_chart(fig.add_axes((0.08, 0.09, 0.83, 0.29)), brief, category_names)
    fig.text(
        0.04,
        0.018,
        "口径：结案率 = 结案数 / 应结案数，按期结案率 = 按期结案数 / 应结案数（应结案："
        "当日到期或当日结案的案件）；超期未结、在办案件按当日 24 时计；时间为北京时间。",
        fontsize=6.5,
        color="#555555",
    )
    out = io.BytesIO()
    fig.savefig(out, format=fmt, dpi=150 if fmt == "png" else 72, metadata=_metadata(brief, fmt))
    return out.getvalue()


def _metadata(brief: Brief, fmt: str) -> dict:
    title = f"{brief.name} 网格化治理日报 {brief.day.isoformat()}"
    return {"Title": title, "Creator": "geogrid"} if fmt == "pdf" else {"Title": title}


def _title(fig: Figure, brief: Brief) -> None:
    day = brief.day
    fig.text(0.04, 0.955, f"{brief.name} 网格化治理日报", fontsize=22, color=_HEAD)
    fig.text(
        0.04,
        0.928,
        f"{day.year}年{day.month}月{day.day}日  星期{_WEEKDAYS[day.weekday()]}    "
        f"代码 {brief.code}",
        fontsize=10.5,
        color="#333333",
    )
    fig.add_artist(Line2D([0.04, 0.96], [0.918, 0.918], color="#b22222", linewidth=1.5))


def _path(geometry) -> MplPath:
    """A polygon or multipolygon, holes included, as one matplotlib path."""
    rings = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in (polygon.exterior, *polygon.interiors):
            rings.append(MplPath(np.asarray(ring.coords)[:, :2], closed=True))
    return MplPath.make_compound_path(*rings)


def _map(ax, fig: Figure, brief: Brief) -> None:
    counts = [brief.open_cases.get(g.code, 0) for g in brief.grids]
    top = max(counts, default=0)
    bounds = _bins(top)
    cmap = ListedColormap(
        ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"][: len(bounds) - 1]
    )
    norm = BoundaryNorm(bounds, cmap.N)
    for grid, n in zip(brief.grids, counts, strict=True):
        ax.add_patch(
            PathPatch(_path(grid.geometry), facecolor=cmap(norm(n)), edgecolor="#8c8c8c", lw=0.3)
        )
    for grid in brief.grids:
        if grid.code in brief.hot:
            ax.add_patch(PathPatch(_path(grid.geometry), fill=False, edgecolor="#c00000", lw=1.6))
    for rank, row in enumerate(brief.top, start=1):
        where = next(g for g in brief.grids if g.code == row["code"]).geometry
        point = shapely.point_on_surface(where)
        ax.text(point.x, point.y, str(rank), fontsize=6.5, ha="center", va="center")
        ax.texts[-1].set_path_effects(_HALO)
    if brief.stations:
        ax.scatter(
            [s.lon for s in brief.stations],
            [s.lat for s in brief.stations],
            marker="^",
            s=26,
            color="#1f6fb4",
            edgecolor="white",
            linewidth=0.5,
            zorder=5,
        )
    _frame(ax, brief)
    _map_legend(ax, fig, cmap, norm, bounds)


def _bins(top: int) -> list[float]:
    """Class breaks for open cases per grid: 0, then up to four steps to ``top``."""
    if top <= 0:
        return [-0.5, 0.5]
    step = max(1, math.ceil(top / 4))
    return [-0.5, 0.5, *[0.5 + step * k for k in range(1, math.ceil(top / step) + 1)]]


def _frame(ax, brief: Brief) -> None:
    geoms = [g.geometry for g in brief.grids]
    x0, y0, x1, y1 = shapely.total_bounds(geoms) if geoms else (0, 0, 1, 1)
    pad_x, pad_y = (x1 - x0) * 0.03 or 0.001, (y1 - y0) * 0.03 or 0.001
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    ax.set_aspect(1 / math.cos(math.radians((y0 + y1) / 2)))
    ax.set_anchor("S")  # next to its legend and colour bar, whatever the street's shape
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#cccccc")
    ax.set_title("辖区网格：颜色为在办案件数，数字为新增排名", fontsize=10, loc="left")


def _map_legend(ax, fig: Figure, cmap, norm, bounds: list[float]) -> None:
    handles = [
        Patch(facecolor="none", edgecolor="#c00000", linewidth=1.6, label="热点网格 (Gi*)"),
        Line2D([], [], marker="^", color="#1f6fb4", linestyle="", label="清凉驿站"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.005), ncol=2, fontsize=8)
    ax.legend_.set_frame_on(False)
    cax = fig.add_axes((0.36, 0.432, 0.18, 0.009))
    bar = fig.colorbar(ScalarMappable(norm, cmap), cax=cax, orientation="horizontal")
    ticks = [(a + b) / 2 for a, b in itertools.pairwise(bounds)]
    labels = [_bin_label(a, b) for a, b in itertools.pairwise(bounds)]
    bar.set_ticks(ticks, labels=labels, fontsize=6.5)
    bar.outline.set_linewidth(0.3)
    cax.set_title("在办案件", fontsize=7, pad=2)


def _bin_label(low: float, high: float) -> str:
    a, b = math.ceil(low), math.floor(high)
    return str(a) if a == b else f"{a}–{b}"


def _fmt(key: str, value) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}%" if key.endswith("rate") else f"{value:,}"


def _kpi_table(ax, brief: Brief) -> None:
    ax.set_axis_off()
    ax.set_title("当日指标", fontsize=11.5, loc="left", color=_HEAD)
    xs = (0.0, 0.45, 0.68, 1.0)
    row_h = 1 / (len(_ROWS) + 1)
    for (_, label), x in zip(_COLUMNS, xs[1:], strict=True):
        ax.text(x, 1 - row_h / 2, label, ha="right", va="center", fontsize=9, color="#555555")
    for i, (key, label) in enumerate(_ROWS, start=1):
        y = 1 - row_h * (i + 0.5)
        ax.text(xs[0], y, label, va="center", fontsize=9.5)
        for (name, _), x in zip(_COLUMNS, xs[1:], strict=True):
            value = _fmt(key, brief.kpis[name][key])
            color, size = ("black", 10.5) if name == "day" else ("#555555", 9.5)
            ax.text(x, y, value, ha="right", va="center", fontsize=size, color=color)
        ax.axhline(1 - row_h * i, color="#dddddd", linewidth=0.6)


def _top_table(ax, brief: Brief) -> None:
    ax.set_axis_off()
    ax.set_title("新增案件最多的网格（前十）", fontsize=11.5, loc="left", color=_HEAD)
    if not brief.top:
        ax.text(0, 0.9, "当日无新增案件", fontsize=9, color="#555555")
        return
    row_h = 1 / (len(brief.top) + 1)
    heads = (
        (0.0, "left", "序"),
        (0.08, "left", "网格"),
        (0.83, "right", "新增"),
        (1, "right", "在办"),
    )
    for x, align, text in heads:
        ax.text(x, 1 - row_h / 2, text, ha=align, va="center", fontsize=8.5, color="#555555")
    for i, row in enumerate(brief.top, start=1):
        y = 1 - row_h * (i + 0.5)
        name = row["name"] if len(row["name"]) <= 16 else row["name"][:15] + "…"
        cells = ((0.0, "left", str(i)), (0.08, "left", name))
        cells += ((0.83, "right", str(row["reported"])), (1, "right", str(row["open"])))
        for x, align, text in cells:
            ax.text(x, y, text, ha=align, va="center", fontsize=8.5)


def _trend_chart(ax, brief: Brief, category_names: dict[str, str]) -> None:
    trend = brief.trend
    days = trend["days_list"]
    x = np.arange(len(days))
    totals = {k: sum(v) for k, v in trend["by_category"].items()}
    shown = sorted((k for k in totals if totals[k]), key=lambda k: -totals[k])[:5]
    bottom = np.zeros(len(days))
    series = [(category_names.get(k, k), np.array(trend["by_category"][k])) for k in shown]
    rest = sum((np.array(v) for k, v in trend["by_category"].items() if k not in shown), bottom)
    if rest.any():
        series.append(("其他类别", rest))
    for (label, values), color in zip(series, _PALETTE, strict=False):
        ax.bar(x, values, bottom=bottom, width=0.8, color=color, label=label)
        bottom = bottom + values
    ax.set_ylabel("每日上报（件）", fontsize=9)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ticks = x[:: max(1, len(days) // 10)]
    ax.set_xticks(ticks, [f"{int(days[i][5:7])}/{int(days[i][8:])}" for i in ticks], fontsize=8)
    ax.set_xlim(-0.6, len(days) - 0.4)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top"]].set_visible(False)
    rates = ax.twinx()
    _weekly_rates(rates, trend)
    handles = ax.get_legend_handles_labels()[0] + rates.get_legend_handles_labels()[0]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0, -0.08),
        ncol=8,
        fontsize=7.5,
        handlelength=1.2,
        columnspacing=1.0,
    )
    ax.legend_.set_frame_on(False)
    ax.set_title(
        f"近{len(days)}日趋势：每日上报（按类别）与每周结案率",
        fontsize=11,
        loc="left",
        color=_HEAD,
    )


def _weekly_rates(ax, trend: dict) -> None:
    start = np.datetime64(trend["days_list"][0])
    mids, closure, on_time = [], [], []
    for week in trend["weeks"]:
        a = (np.datetime64(week["from"]) - start).astype(int)
        b = (np.datetime64(week["to"]) - start).astype(int)
        mids.append((a + b) / 2)
        closure.append(np.nan if week["closure_rate"] is None else week["closure_rate"])
        on_time.append(np.nan if week["on_time_rate"] is None else week["on_time_rate"])
    ax.plot(mids, closure, marker="o", color="#2f2f2f", linewidth=1.4, ms=4, label="周结案率")
    ax.plot(mids, on_time, marker="s", color="#c00000", linewidth=1.4, ms=4, label="周按期结案率")
    ax.set_ylim(0, 105)
    ax.set_ylabel("%", fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top"]].set_visible(False)
