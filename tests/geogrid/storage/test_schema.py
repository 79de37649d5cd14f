"""The migrations build exactly the schema the code declares, plus PostGIS columns on PostgreSQL."""

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from geogrid.storage.schema import POSTGIS_GEOMETRY, metadata
from geogrid.storage.store import Store


def _not_postgis(obj, name, kind, _reflected, _compare_to):
    """Leave out what PostGIS and migration 0002 add on PostgreSQL (checked below)."""
    if kind == "table":
        return name != "spatial_ref_sys"  # PostGIS's own table, in public
    if kind == "column":
        return not (name == "geom" and obj.table.name in POSTGIS_GEOMETRY)
    if kind == "index":
        return name not in {f"ix_{t}_geom" for t in POSTGIS_GEOMETRY}
    return True


def test_migrated_database_matches_the_declared_schema(store_url):
    store = Store(store_url)
    store.migrate()
    with store.engine.connect() as conn, warnings.catch_warnings():
        # SQLAlchemy cannot name PostGIS's type; the generated columns are checked below.
        warnings.filterwarnings("ignore", "Did not recognize type 'geometry'", sa.exc.SAWarning)
        context = MigrationContext.configure(conn, opts={"include_object": _not_postgis})
        diff = compare_metadata(context, metadata)
    assert diff == []
    assert set(sa.inspect(store.engine).get_table_names()) >= {
        "generations",
        "grids",
        "events",
        "event_history",
        "stations",
        "audit",
        "users",
        "api_tokens",
        "alembic_version",
    }


def test_postgis_columns_are_generated_and_gist_indexed(store):
    """On PostGIS each stored shape has a server-generated geometry; SQLite has none."""
    with store.engine.connect() as conn:
        if store.backend != "postgresql":
            columns = {c["name"] for c in sa.inspect(conn).get_columns("grids")}
            assert "geom" not in columns
            return
        found = conn.execute(
            sa.text(
                "SELECT f_table_name, type, srid FROM geometry_columns "
                "WHERE f_table_schema = current_schema() AND f_geometry_column = 'geom'"
            )
        ).all()
        assert {t: (kind, srid) for t, kind, srid in found} == {
            t: (kind, 4326) for t, kind in POSTGIS_GEOMETRY.items()
        }
        methods = dict(
            conn.execute(
                sa.text(
                    "SELECT c.relname, a.amname FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
                    "WHERE c.relname LIKE 'ix\\_%\\_geom' AND c.relnamespace = "
                    "current_schema()::regnamespace"
                )
            ).all()
        )
        assert methods == {f"ix_{t}_geom": "gist" for t in POSTGIS_GEOMETRY}
        # generated from the WKB: PostGIS agrees with shapely on every grid's area
        mismatched = conn.scalar(
            sa.text(
                "SELECT count(*) FROM grids WHERE geom IS NULL "
                "OR abs(ST_Area(geom::geography) - area_m2) > 0.001 * area_m2"
            )
        )
        assert mismatched == 0
