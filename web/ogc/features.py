"""The OGC API's features: grids, events and stations as GeoJSON, and their queries."""

from __future__ import annotations

import re
from datetime import datetime

from flask import current_app, request

from geogrid import codes
from geogrid.boundaries.grids import grid_to_feature
from geogrid.cases.queries import (
    EventFilter,
    event_dict,
    get_event,
    list_events,
    public_event_dict,
)
from geogrid.errors import NotFoundError
from geogrid.parse import MAX_ID
from geogrid.policy import may_read_events, may_see_grid_contacts, may_see_personal
from geogrid.stations import load_stations, station_feature
from web.auth import current_user
from web.ogc.document import GEOJSON, GRID_COLLECTIONS, link
from web.ogc.params import OGCError, datetime_arg, filters
from web.state import state


def _page(cid: str, features: list, matched: int, limit: int, offset: int) -> dict:
    """One page of ``cid`` as a FeatureCollection, with self, next and prev links."""
    links = [link("ogc.items", "self", GEOJSON, cid=cid, **request.args)]
    if offset + len(features) < matched:
        links.append(
            link(
                "ogc.items",
                "next",
                GEOJSON,
                "next page",
                cid=cid,
                **(request.args.to_dict() | {"offset": offset + limit, "limit": limit}),
            )
        )
    if offset > 0:
        links.append(
            link(
                "ogc.items",
                "prev",
                GEOJSON,
                "previous page",
                cid=cid,
                **(request.args.to_dict() | {"offset": max(0, offset - limit), "limit": limit}),
            )
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": current_app.config["CLOCK"]().isoformat(),
        "links": links,
    }


def _grid_feature(grid, generation: int) -> dict:
    """A grid as a feature; its contacts as the access policy lets this caller see them."""
    contacts = may_see_grid_contacts(current_user(), grid.code)
    return grid_to_feature(grid, {"generation": generation}, contacts)


def _event_feature(row, now: datetime, user) -> dict:
    """An event as a flat feature, as the access policy lets ``user`` see it.

    Readers get the event (reporter fields only where they may see personal
    data); everyone else the public view: no text, notes or personal fields,
    the location rounded to ~100 m.
    """
    if may_read_events(user):
        props = event_dict(row, now)
        props.pop("reporter")
        if may_see_personal(user, row.district, row.street):
            props["reporter_name"], props["reporter_phone"] = row.reporter_name, row.reporter_phone
    else:
        props = public_event_dict(row, now, current_app.config["PUBLIC_EVENTS"])
    props.update(props.pop("assignment"))
    return {
        "type": "Feature",
        "id": row.id,
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [props.pop("lon"), props.pop("lat")]},
    }


def _public_events_allowed() -> None:
    """Refuse the events collection to callers without read rights when nothing is published."""
    if current_app.config["PUBLIC_EVENTS"] == "none" and not may_read_events(current_user()):
        raise OGCError(401, "Unauthorized", "events are shown only to logged-in readers")


def grid_items(cid: str, limit: int, offset: int, bbox) -> dict:
    """A page of the grid collection ``cid`` in ``bbox``, property filters applied."""
    datetime_arg()  # grids have no time: any valid datetime matches
    flt = filters("grid")
    store = state().store
    generation = store.active_generation()
    found = store.load_grids(generation, level=GRID_COLLECTIONS[cid][0], bbox_wgs84=bbox)
    for key, value in flt.items():
        found = [g for g in found if str(getattr(g, key)) == value]
    return _page(
        cid,
        [_grid_feature(g, generation) for g in state().contacts(found[offset : offset + limit])],
        len(found),
        limit,
        offset,
    )


def event_items(limit: int, offset: int, bbox) -> dict:
    """A page of events in ``bbox`` reported in the datetime interval, filters applied."""
    start, end = datetime_arg()
    flt = filters("events")
    now = current_app.config["CLOCK"]()
    _public_events_allowed()
    user = current_user()
    code = _chain_code({k: flt[k] for k in ("street", "community", "grid", "micro") if k in flt})
    if code is False:  # no event can lie in grids that do not nest
        return _page("events", [], 0, limit, offset)
    query = EventFilter(
        code=code,
        category=flt.get("category"),
        status=flt.get("status"),
        source=flt.get("source"),
        start=start,
        through=end,
        bbox_wgs84=bbox,
    )
    with state().store.engine.connect() as conn:
        rows, matched = list_events(conn, query, now, limit, offset, order="id")
    features = [_event_feature(row, now, user) for row in rows]
    return _page("events", features, matched, limit, offset)


def _chain_code(given: dict[str, str]) -> str | bool | None:
    """The finest of the street, community, grid and micro filters; False if none can hold.

    They cannot hold for a code of another level, or for grids that do not nest.
    """
    finest = None
    for level in ("street", "community", "grid", "micro"):
        code = given.get(level)
        if code is None:
            continue
        if not codes.is_code(code) or codes.level_of(code) != level:
            return False
        if finest is not None and not code.startswith(finest):
            return False
        finest = code
    return finest


def station_items(limit: int, offset: int, bbox) -> dict:
    """A page of cooling stations in ``bbox``, property filters applied."""
    datetime_arg()
    flt = filters("cooling_stations")
    found = load_stations(state().store, "cooling")
    if bbox:
        found = [s for s in found if bbox[0] <= s.lon <= bbox[2] and bbox[1] <= s.lat <= bbox[3]]
    for key, value in flt.items():
        found = [s for s in found if str(getattr(s, key)) == value]
    features = [station_feature(s) for s in found[offset : offset + limit]]
    return _page("cooling_stations", features, len(found), limit, offset)


def find_feature(cid: str, fid: str) -> dict | None:
    """The feature ``fid`` of collection ``cid``, or None if there is none."""
    if cid in GRID_COLLECTIONS:
        store = state().store
        generation = store.active_generation()
        found = [
            g
            for g in store.load_grids(generation, code=fid)
            if g.code == fid and g.level == GRID_COLLECTIONS[cid][0]
        ]
        return _grid_feature(state().contacts(found)[0], generation) if found else None
    number = int(fid) if re.fullmatch(r"[0-9]{1,10}", fid) and 0 < int(fid) <= MAX_ID else None
    if cid == "events" and number is not None:
        _public_events_allowed()
        try:
            with state().store.engine.connect() as conn:
                row, _ = get_event(conn, number)
        except NotFoundError:
            return None
        return _event_feature(row, current_app.config["CLOCK"](), current_user())
    if number is not None:
        found = [s for s in load_stations(state().store, "cooling") if s.id == number]
        return station_feature(found[0]) if found else None
    return None
