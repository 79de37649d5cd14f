"""Initial schema: generations, grids, events and their history, stations, users, tokens, audit.

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
    _create_audit()
    _create_generations()
    _create_stations()
    _create_users()
    _create_events()
    _create_grids()
    _create_event_history()


def _create_audit() -> None:
    """The audit trail of who changed what."""
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _create_generations() -> None:
    """The boundary generations."""
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.String(length=17), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _create_stations() -> None:
    """The service stations."""
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), server_default="", nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("season", sa.String(length=40), nullable=True),
        sa.Column("hours", sa.String(length=80), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("amenities", sa.JSON(), nullable=False),
        sa.Column("contact", sa.String(length=80), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _create_users() -> None:
    """The users and their API tokens."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.String(length=17), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )


def _create_events() -> None:
    """The events and their indexes."""
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("crs", sa.String(length=10), nullable=False),
        sa.Column("lon_in", sa.Float(), nullable=False),
        sa.Column("lat_in", sa.Float(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_phone", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("district", sa.String(length=6), nullable=True),
        sa.Column("street", sa.String(length=9), nullable=True),
        sa.Column("community", sa.String(length=12), nullable=True),
        sa.Column("grid", sa.String(length=15), nullable=True),
        sa.Column("micro", sa.String(length=17), nullable=True),
        sa.Column("dedicated", sa.String(length=15), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("likely_duplicate_of", sa.Integer(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["events.id"],
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["likely_duplicate_of"],
            ["events.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("created_by", "idempotency_key", name="uq_events_idempotency"),
    )
    op.create_index(
        "ix_events_category_reported_at", "events", ["category", "reported_at"], unique=False
    )
    op.create_index("ix_events_grid", "events", ["grid"], unique=False)
    op.create_index("ix_events_reported_at", "events", ["reported_at"], unique=False)
    op.create_index("ix_events_status", "events", ["status"], unique=False)
    op.create_index("ix_events_street", "events", ["street"], unique=False)


def _create_grids() -> None:
    """The grids and their indexes."""
    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=17), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("parent", sa.String(length=17), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("min_x", sa.Float(), nullable=False),
        sa.Column("min_y", sa.Float(), nullable=False),
        sa.Column("max_x", sa.Float(), nullable=False),
        sa.Column("max_y", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("generation_low", sa.Integer(), nullable=False),
        sa.Column("generation_high", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_high"],
            ["generations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["generation_low"],
            ["generations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "generation_low", name="uq_grids_code_generation_low"),
    )
    op.create_index("ix_grids_code", "grids", ["code"], unique=False)
    op.create_index(
        "ix_grids_generations", "grids", ["generation_low", "generation_high"], unique=False
    )


def _create_event_history() -> None:
    """Each event's status history and its index."""
    op.create_table(
        "event_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_history_event", "event_history", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_history_event", table_name="event_history")
    op.drop_table("event_history")
    op.drop_index("ix_grids_generations", table_name="grids")
    op.drop_index("ix_grids_code", table_name="grids")
    op.drop_table("grids")
    op.drop_index("ix_events_street", table_name="events")
    op.drop_index("ix_events_status", table_name="events")
    op.drop_index("ix_events_reported_at", table_name="events")
    op.drop_index("ix_events_grid", table_name="events")
    op.drop_index("ix_events_category_reported_at", table_name="events")
    op.drop_table("events")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("stations")
    op.drop_table("generations")
    op.drop_table("audit")
