"""The command center map page and the data its layers fetch as the map moves."""

from __future__ import annotations

import functools
import json
import threading
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for

from geogrid import codes
from geogrid.cases.queries import EventFilter
from geogrid.cases.workflow import OPEN, STATUSES
from geogrid.policy import may_see_grid_contacts
from geogrid.reports.columns import columns_of
from geogrid.reports.hotspots import contiguity
from geogrid.reports.mapdata import (
    dissolved,
    feature_collection,
    grid_event_counts,
    heat_cells,
)
from geogrid.reports.metrics import stats
from geogrid.stations import load_stations, uncovered
from geogrid.storage.schema import events, store_changes
from geogrid.times import to_db_time, to_iso, utc
from maps.assets import inline_assets
from maps.build import MapSpec, build_map
from maps.text import labels
from web.auth import current_user
from web.pagecache import PageCache, drawing_code
from web.pages.live import live_options
from web.params import bad, choice, get_choice, grid_code, moment
from web.state import state
from web.tiles import configured_tileset, tile_choice, tile_choices, tile_url

bp = Blueprint("map", __name__)

_BASE_ZOOM = 13  # streets and communities are simplified for this zoom
_MAX_PAGES = 32  # cached pages per process


def _households(grid) -> float | None:
    value = grid.attributes.get("households")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class _Base:
    """What the map needs of one generation, built once per process and generation."""

    def __init__(self, generation: int, grids: list) -> None:
        self.generation = generation
        self.by_level = {lv: [g for g in grids if g.level == lv] for lv in codes.LEVELS}
        tiles = self.by_level["grid"]
        self.grid_codes = [g.code for g in tiles]
        self.grid_geoms = np.array([g.geometry for g in tiles], dtype=object)
        self.grid_bounds = {g.code: [round(v, 6) for v in g.geometry.bounds] for g in tiles}
        centres = shapely.get_coordinates(shapely.point_on_surface(self.grid_geoms))
        self.centres = {
            c: (float(x), float(y)) for c, (x, y) in zip(self.grid_codes, centres, strict=True)
        }
        self.bounds = shapely.total_bounds(np.array([g.geometry for g in grids], dtype=object))
        self.tree = shapely.STRtree(np.array([g.geometry for g in grids], dtype=object))
        self.all = grids
        self.weights = contiguity(self.grid_codes, self.grid_geoms)
        # households per grid, for rates (None where the file does not say)
        self.households = [_households(g) for g in tiles]
        self._uncovered: dict[tuple, dict] = {}

    def uncovered_layer(self, stations, walk_m: float, crs: str, name: str) -> dict:
        """The grids beyond ``walk_m`` of every station, dissolved (cached per station set)."""
        key = (tuple((s.lon, s.lat) for s in stations), walk_m, crs)
        if key not in self._uncovered:
            far = uncovered(list(self.grid_geoms), stations, walk_m)
            self._uncovered[key] = dissolved(
                self.grid_geoms[far],
                _BASE_ZOOM,
                {"name": name, "events": None, "households": int(far.sum())},
                crs,
            )
        return self._uncovered[key]


def _cache() -> dict:
    """The current app's map caches (never shared between apps in one process)."""
    return current_app.extensions.setdefault(
        "geogrid_map", {"lock": threading.Lock(), "base": None, "pages": None}
    )


def map_base() -> _Base:
    """The map's base for the active generation, built once per process and generation."""
    index, grids, _ = state().active()  # one consistent generation
    cache = _cache()
    with cache["lock"]:
        if cache["base"] is None or cache["base"].all is not grids:  # a generation or roster
            cache["base"] = _Base(index.generation, grids)
        return cache["base"]


def _crs(tiles: str) -> str:
    return "gcj02" if tiles == "amap" else "wgs84"


#: the map's event filters: the page and its data endpoints read the same parameters
MAP_FILTERS = (
    grid_code("code", "a street, community or grid and what lies below it"),
    choice("category", lambda: tuple(state().categories), None, "one event category"),
    choice("status", STATUSES, None, "one workflow status"),
    moment("from", "reported at or after (ISO 8601 with a zone)"),
    moment("to", "reported before (ISO 8601 with a zone)"),
)


def map_filter() -> EventFilter:
    """The map's event filters from the query string (see :data:`MAP_FILTERS`)."""
    query = {p.name: p.value() for p in MAP_FILTERS}
    code, start, end = query["code"], query["from"], query["to"]
    level = codes.level_of(code) if code is not None else None
    if level not in (None, "district", "street", "community", "grid"):
        raise bad("code", f"expected a street, community or grid code, got {level} {code!r}")
    if start and end and start >= end:
        raise bad("to", "must be later than 'from'")
    return EventFilter(
        code=code, category=query["category"], status=query["status"], start=start, end=end
    )


def grid_contacts_shown() -> Callable[[str], bool]:
    """Whether the user may see a grid's contacts, by code (the access policy)."""
    return functools.partial(may_see_grid_contacts, current_user())


#: the parameters the page reads; any other is ignored (and never splits the page cache)
PAGE_PARAMS = ("code", "category", "status", "from", "to", "lang", "tiles", "wall")


def page_args() -> dict[str, str]:
    """The page's own parameters: known names only, no empty values, in one order.

    The page cache is keyed on these, so junk parameters or another order of the
    same ones answer from the cache instead of rebuilding the page.
    """
    return {name: request.args[name] for name in PAGE_PARAMS if request.args.get(name)}


@bp.get("/")
def index():
    """The command center map with its side panel; the URL holds the filters."""
    store = state().store
    if not store.is_initialized() or store.active_generation() is None:
        return render_template("empty.html")
    key = _page_key()
    now = current_app.config["CLOCK"]()
    seq = store.change_seq()
    page = _pages().get(key, seq, now)
    if page is None:
        page = _page(standalone=False, seq=seq)
        _pages().put(key, seq, _next_deadline(now), page)
    return page


def _wall() -> bool:
    """``?wall=1``: the page on a 大屏, controls hidden, cycling through the streets."""
    return get_choice("wall", ("0", "1"), "0") == "1"


def _page_key() -> str:
    """The page's identity: filters as parsed, language, tiles and who asks.

    Parsed values make other spellings of the same filters one page; who asks
    decides what the access policy lets the page show.
    """
    flt = map_filter()
    user = current_user()
    return json.dumps(
        [
            flt.code,
            flt.category,
            flt.status,
            to_iso(flt.start),
            to_iso(flt.end),
            get_choice("lang", ("zh", "en"), "zh"),
            _tiles_key(),
            _wall(),
            user.role if user else None,
            user.scope if user else None,
            user.username if user else None,
        ]
    )


def _tiles_key() -> str:
    """The tiles choice; for an MBTiles file also its identity (its zooms are on the page)."""
    tiles = tile_choice()
    return f"mbtiles:{configured_tileset().identity}" if tiles == "mbtiles" else tiles


def _mbtiles_source(tiles: str) -> dict | None:
    """What the map's tile layer needs of the MBTiles file, when that is the choice."""
    tileset = configured_tileset() if tiles == "mbtiles" else None
    if tileset is None:
        return None
    return {
        "url": tile_url(),
        "minzoom": tileset.minzoom,
        "maxzoom": tileset.maxzoom,
        "bounds": tileset.bounds_wgs84,
        "attribution": tileset.attribution,
    }


def _next_deadline(now: datetime) -> datetime | None:
    """When an open case next passes a deadline, if ever.

    Its stage deadline changes the overdue counts; its closure deadline the
    panel's due-to-close figures.
    """
    later = []
    with state().store.engine.connect() as conn:
        for column in (events.c.stage_due_at, events.c.close_due_at):
            later.append(
                conn.scalar(
                    sa.select(sa.func.min(column)).where(
                        events.c.status.in_(OPEN), column > to_db_time(now)
                    )
                )
            )
    found = [utc(t) for t in later if t is not None]
    return min(found) if found else None


def _pages() -> PageCache:
    cache = _cache()
    with cache["lock"]:
        if cache["pages"] is None:
            folder = current_app.config["PAGE_CACHE_DIR"]
            if folder is None and not current_app.testing:
                folder = Path(current_app.instance_path) / "cache" / "map"
            cache["pages"] = PageCache(folder or None, _page_salt(), _MAX_PAGES)
        return cache["pages"]


def _page_salt() -> str:
    """What the pages on disk belong to besides their key.

    This store (its random id too, so a store made again never reads another's),
    this version of geogrid and of the code that draws the page (a checkout between
    releases changes it without a new version), and the settings the page is drawn with.
    """
    import geogrid

    store = state().store
    with store.engine.connect() as conn:
        store_id = conn.scalar(sa.select(store_changes.c.store_id))
    settings = {k: str(current_app.config[k]) for k in _PAGE_SETTINGS}
    version = [geogrid.__version__, drawing_code()]
    return json.dumps([store.url, store_id, version, settings], sort_keys=True)


#: the settings a rendered page depends on
_PAGE_SETTINGS = ("MAP_TILES", "TIANDITU_KEY", "WALK_M", "PUBLIC_EVENTS", "CATEGORIES_FILE")


def warm(app) -> None:
    """Build the map's base, the event columns and the default page (at server start)."""
    with app.test_request_context("/"):
        store = state().store
        if store.is_initialized() and store.active_generation() is not None:
            map_base()
            with store.engine.connect() as conn:
                columns_of(conn)
            index()


def standalone_map() -> str:
    """The same page as one file: grids embedded, assets inlined, nothing fetched."""
    from pathlib import Path

    import web

    html = _page(standalone=True)
    vendor = Path(web.__file__).parent / "static" / "vendor"
    return inline_assets(html, url_for("static", filename="vendor"), vendor)


def _page(standalone: bool, seq: int | None = None) -> str:
    """The map page for the request's filters, language and tiles, rendered."""
    flt = map_filter()
    lang = get_choice("lang", ("zh", "en"), "zh")
    tiles = tile_choice()
    if standalone and tiles == "mbtiles":  # a file on its own has no /tiles/ to ask
        tiles = "none"
    base, now = map_base(), current_app.config["CLOCK"]()
    crs, personal = _crs(tiles), grid_contacts_shown()
    with state().store.engine.connect() as conn:
        open_counts = grid_event_counts(conn, flt, now)
        heat = heat_cells(conn, flt, now, crs=crs)
        panel = stats(conn, now, flt.code, flt.start, flt.end, breakdown=False)
    hot, hot_method = _hot(flt, now)
    stations = load_stations(state().store, "cooling")
    words = labels(lang)
    words_cat = {
        c.code: (c.name if lang == "zh" else c.name_en) for c in state().categories.values()
    }
    spec = MapSpec(
        bounds=_view_bounds(base, flt.code),
        lang=lang,
        tiles=tiles,
        tianditu_key=current_app.config["TIANDITU_KEY"],
        mbtiles=_mbtiles_source(tiles),
        asset_base=url_for("static", filename="vendor"),
        **_polygon_layers(base, hot, crs, personal),
        uncovered=base.uncovered_layer(
            stations, current_app.config["WALK_M"], crs, words["layer_uncovered"]
        ),
        grid_events=_grid_event_rows(open_counts, base, crs),
        heat=heat,
        stations=_station_rows(stations, crs),
        walk_m=current_app.config["WALK_M"],
        **_grid_sources(base, crs, standalone),
        query=_layer_query(crs),
        categories=words_cat,
    )
    return render_template(
        "map.html",
        **_rendered(spec),
        # the stream goes on from the change the page was drawn at: nothing falls between
        live=None
        if standalone
        else live_options(flt, (crs, seq), words, words_cat, base, _wall(), now),
        wall=_wall(),
        panel=panel,
        lang=lang,
        tiles=tiles,
        tile_choices=tile_choices(),
        hot=_top_hot(hot, base),
        hot_method=hot_method,
        streets=base.by_level["street"],
        communities=base.by_level["community"],
        categories=words_cat,
        statuses=STATUSES,
        status_words={k: words[k] for k in STATUSES},
        args=page_args(),
        user=current_user(),
        other_lang_url=url_for(
            "map.index", **(page_args() | {"lang": "en" if lang == "zh" else "zh"})
        ),
    )


def _view_bounds(base: _Base, code: str | None) -> tuple[float, float, float, float]:
    """Where the map opens: the chosen street, community or grid, else the district."""
    chosen = next((g for g in base.all if g.code == code), None) if code else None
    return tuple(chosen.geometry.bounds) if chosen is not None else tuple(base.bounds)


def _hot(flt, now) -> tuple[list[dict], dict]:
    """The significant hot and cold grids (after FDR) among the filtered ones, and the method.

    Gi* runs over the whole district with the page's category, status and time
    filters; a street's or community's page shows the grids inside it.
    """
    from web.api.hotspots import district_hot

    found = district_hot(flt, now)
    inside = [
        r for r in found["grids"] if r["class"] != "ns" and r["code"].startswith(flt.code or "")
    ]
    return inside, found["method"]


def _polygon_layers(base: _Base, hot: list[dict], crs: str, personal) -> dict:
    """The embedded polygon layers: streets, communities, dedicated grids and hot spots."""
    by_code = {g.code: g for g in base.by_level["grid"]}
    return {
        "streets": feature_collection(
            base.by_level["street"], _BASE_ZOOM, crs=crs, personal=personal
        ),
        "communities": feature_collection(
            base.by_level["community"], _BASE_ZOOM, crs=crs, personal=personal
        ),
        "dedicated": feature_collection(
            base.by_level["dedicated"], _BASE_ZOOM + 2, crs=crs, personal=personal
        ),
        "hot": feature_collection(
            [by_code[r["code"]] for r in hot],
            _BASE_ZOOM,
            crs=crs,
            extra={r["code"]: {"gi_class": r["class"], "events": r["count"]} for r in hot},
        ),
    }


def _grid_sources(base: _Base, crs: str, standalone: bool) -> dict:
    """Where the fine layers come from: embedded grids (standalone) or the data URLs."""
    return {
        "grids": feature_collection(base.by_level["grid"], 14, crs=crs) if standalone else None,
        "grids_url": None if standalone else url_for("mapdata.map_grids"),
        "events_url": None if standalone else url_for("mapdata.map_events"),
        "emerging_url": None
        if standalone
        else url_for(
            "hotspots.get_emerging",
            format="geojson",
            crs=crs,
            **{k: v for k, v in page_args().items() if k in ("code", "category", "to")},
        ),
    }


def _layer_query(crs: str) -> str:
    """The query string the lazy layers add to their requests: the filters and ``crs``."""
    return "&" + urllib.parse.urlencode(
        {k: v for k, v in page_args().items() if k in ("category", "status", "from", "to")}
        | {"crs": crs}
    )


def _rendered(spec: MapSpec) -> dict:
    """The folium map of ``spec`` rendered: its header, body and script."""
    the_map = build_map(spec)
    root = the_map.get_root()
    root.render()
    return {
        "map_name": the_map.get_name(),
        "header": root.header.render(),
        "body": root.html.render(),
        "script": root.script.render(),
    }


def _top_hot(hot: list[dict], base: _Base) -> list[dict]:
    """The ten hottest grids for the side panel, with their names and bounds."""
    by_code = {g.code: g for g in base.by_level["grid"]}
    top = sorted((r for r in hot if r["class"].startswith("hot")), key=lambda r: -r["z"])[:10]
    return [
        {**r, "name": by_code[r["code"]].name, "bounds": base.grid_bounds[r["code"]]} for r in top
    ]


def _grid_event_rows(counts: dict, base: _Base, crs: str) -> list[dict]:
    rows = []
    for code, row in counts.items():
        if code not in base.centres:
            continue
        x, y = base.centres[code]
        rows.append({**row, "lon": x, "lat": y})
    return _shift(rows, crs)


def _station_rows(stations, crs: str) -> list[dict]:
    return _shift(
        [
            {
                k: getattr(s, k)
                for k in (
                    "name",
                    "address",
                    "hours",
                    "season",
                    "capacity",
                    "amenities",
                    "contact",
                    "lon",
                    "lat",
                )
            }
            for s in stations
        ],
        crs,
    )


def _shift(rows: list[dict], crs: str) -> list[dict]:
    if crs != "gcj02" or not rows:
        return rows
    from geogrid.coords import wgs84_to_gcj02

    x, y = wgs84_to_gcj02([r["lon"] for r in rows], [r["lat"] for r in rows])
    return [
        {**r, "lon": round(float(a), 6), "lat": round(float(b), 6)}
        for r, a, b in zip(rows, x, y, strict=True)
    ]
