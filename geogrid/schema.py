"""The storage schema (SQLAlchemy Core), shared by every backend.

Geometries are WKB in WGS-84 with their bounding box in plain columns, so the
embedded SQLite store needs no SpatiaLite. Alembic migrations in
``geogrid/migrations`` create and evolve these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "metadata",
    "generations",
    "grids",
    "events",
    "event_history",
    "stations",
    "audit",
    "users",
    "api_tokens",
]

metadata = sa.MetaData()

generations = sa.Table(
    "generations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("source_sha256", sa.String(64)),
    sa.Column("scope", sa.String(17)),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
)

grids = sa.Table(
    "grids",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(17), nullable=False),
    sa.Column("level", sa.String(10), nullable=False),
    sa.Column("parent", sa.String(17)),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("geometry", sa.LargeBinary, nullable=False),
    sa.Column("min_x", sa.Float, nullable=False),
    sa.Column("min_y", sa.Float, nullable=False),
    sa.Column("max_x", sa.Float, nullable=False),
    sa.Column("max_y", sa.Float, nullable=False),
    sa.Column("area_m2", sa.Float, nullable=False),
    sa.Column("generation_low", sa.Integer, sa.ForeignKey("generations.id"), nullable=False),
    sa.Column("generation_high", sa.Integer, sa.ForeignKey("generations.id"), nullable=False),
    sa.UniqueConstraint("code", "generation_low", name="uq_grids_code_generation_low"),
    sa.Index("ix_grids_generations", "generation_low", "generation_high"),
    sa.Index("ix_grids_code", "code"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("crs", sa.String(10), nullable=False),
    sa.Column("lon_in", sa.Float, nullable=False),
    sa.Column("lat_in", sa.Float, nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("reporter_name", sa.Text),
    sa.Column("reporter_phone", sa.String(40)),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("stage_due_at", sa.DateTime(timezone=True)),
    sa.Column("close_due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("district", sa.String(6)),
    sa.Column("street", sa.String(9)),
    sa.Column("community", sa.String(12)),
    sa.Column("grid", sa.String(15)),
    sa.Column("micro", sa.String(17)),
    sa.Column("dedicated", sa.String(15)),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("generation_id", sa.Integer, sa.ForeignKey("generations.id")),
    sa.Column("idempotency_key", sa.String(100)),
    sa.Column("likely_duplicate_of", sa.Integer, sa.ForeignKey("events.id")),
    sa.Column("duplicate_of", sa.Integer, sa.ForeignKey("events.id")),
    sa.UniqueConstraint("created_by", "idempotency_key", name="uq_events_idempotency"),
    sa.Index("ix_events_status", "status"),
    sa.Index("ix_events_street", "street"),
    sa.Index("ix_events_grid", "grid"),
    sa.Index("ix_events_reported_at", "reported_at"),
    sa.Index("ix_events_category_reported_at", "category", "reported_at"),
)

event_history = sa.Table(
    "event_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("from_status", sa.String(12)),
    sa.Column("to_status", sa.String(12), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_event_history_event", "event_id"),
)

stations = sa.Table(
    "stations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False, server_default=""),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("season", sa.String(40)),
    sa.Column("hours", sa.String(80)),
    sa.Column("capacity", sa.Integer),
    sa.Column("amenities", sa.JSON, nullable=False),
    sa.Column("contact", sa.String(80)),
    sa.Column("attributes", sa.JSON, nullable=False),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.String(100)),
    sa.Column("details", sa.JSON, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("scope", sa.String(17)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)
