"""Initial schema: generations, grids, events, stations, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("source_sha256", sa.String(64)),
        sa.Column("scope", sa.String(17)),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "grids",
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
    )
    op.create_index("ix_grids_generations", "grids", ["generation_low", "generation_high"])
    op.create_index("ix_grids_code", "grids", ["code"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("district", sa.String(6)),
        sa.Column("street", sa.String(9)),
        sa.Column("community", sa.String(12)),
        sa.Column("grid", sa.String(15)),
        sa.Column("micro", sa.String(17)),
        sa.Column("dedicated", sa.String(15)),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("generation_id", sa.Integer, sa.ForeignKey("generations.id")),
        sa.Column("idempotency_key", sa.String(100), unique=True),
        sa.Column("duplicate_of", sa.Integer, sa.ForeignKey("events.id")),
    )
    op.create_index("ix_events_status", "events", ["status"])
    op.create_index("ix_events_grid", "events", ["grid"])
    op.create_index("ix_events_reported_at", "events", ["reported_at"])
    op.create_table(
        "stations",
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
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(100)),
        sa.Column("details", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit", "stations", "events", "grids", "generations"):
        op.drop_table(table)
