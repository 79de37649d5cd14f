"""The roster and photos: departments, staff and the grids they serve; who works each case.

- ``departments``, ``staff`` (``ref`` is the roster file's own id, so an import
  is idempotent) and ``staff_grids`` (service by grid code, so it follows a code
  across boundary generations);
- ``events.assignee_staff_id`` / ``assignee_department_id`` (a department's
  queue has no person) and ``events.photo_far``;
- ``event_history.assignee`` (whom a dispatch or reassignment gave the case)
  and ``event_history.public`` (a note the reporter may read);
- ``users.staff_id`` (a grid worker's account);
- ``event_media``: photos, content-addressed under ``MEDIA_DIR``.

SQLite adds the new columns with ``ALTER TABLE … ADD COLUMN`` (batch mode would
copy ``events`` and drop migration 0005's triggers), so their foreign keys are
declared inline there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _add(table: str, column: sa.Column, fk: tuple[str, str] | None = None) -> None:
    """Add ``column`` (with a foreign key to ``fk``) without rebuilding the table."""
    if fk is None:
        op.add_column(table, column)
        return
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column.name} INTEGER REFERENCES {fk[0]} ({fk[1]})"
        )
        return
    op.add_column(table, column)
    op.create_foreign_key(None, table, fk[0], [column.name], [fk[1]])


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
    )
    op.create_table(
        "staff_grids",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=17), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("staff_id", "code"),
    )
    op.create_index("ix_staff_grids_code", "staff_grids", ["code"])
    op.create_table(
        "event_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_media_event", "event_media", ["event_id"])
    op.create_index("ix_event_media_sha256", "event_media", ["sha256"])
    _add("events", sa.Column("assignee_staff_id", sa.Integer()), ("staff", "id"))
    _add("events", sa.Column("assignee_department_id", sa.Integer()), ("departments", "id"))
    _add("events", sa.Column("photo_far", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index("ix_events_assignee_staff", "events", ["assignee_staff_id"])
    op.create_index("ix_events_assignee_department", "events", ["assignee_department_id"])
    _add("event_history", sa.Column("assignee", sa.JSON(), nullable=True))
    _add(
        "event_history",
        sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    _add("users", sa.Column("staff_id", sa.Integer()), ("staff", "id"))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in (
        ("users", "staff_id"),
        ("event_history", "public"),
        ("event_history", "assignee"),
        ("events", "photo_far"),
        ("events", "assignee_department_id"),
        ("events", "assignee_staff_id"),
    ):
        if column.startswith("assignee_"):
            op.drop_index(f"ix_events_{column.removesuffix('_id')}")
        if sqlite and column.endswith("_id"):
            # SQLite cannot drop a column with a foreign key in place, and a batch copy of
            # the table would lose migration 0005's triggers: the column stays, unused.
            continue
        if sqlite:  # SQLite 3.35+ drops a plain column in place (the triggers stay)
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
    op.drop_table("event_media")
    op.drop_table("staff_grids")
    op.drop_table("staff")
    op.drop_table("departments")
