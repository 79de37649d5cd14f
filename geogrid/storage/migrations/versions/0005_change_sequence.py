"""The store's change sequence: one counter bumped by every write transaction.

``store_changes`` holds one row: ``store_id``, made at random here (files kept
for one store, such as its saved grid indexes, are named by it, so a store
created again never reads another's), and ``seq``, which each :meth:`Store.write` raises
first thing; every inserted or updated event carries the value of the
transaction that wrote it in ``events.change_seq`` (set by a trigger, so no
write path can forget it). Caches (the map page, the district statistics, and
later the live stream) key on the counter and read only the rows written since
they last looked. On PostgreSQL the counter's row lock also orders writers, so
the sequence is the commit order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# SQLite cannot assign NEW in a BEFORE trigger: an AFTER trigger stamps the row unless the
# statement already did (a bulk update sets change_seq itself and saves the second write).
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER events_change_seq_insert AFTER INSERT ON events
    BEGIN
        UPDATE events SET change_seq = (SELECT seq FROM store_changes WHERE id = 1)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER events_change_seq_update AFTER UPDATE ON events
    WHEN NEW.change_seq IS NOT (SELECT seq FROM store_changes WHERE id = 1)
    BEGIN
        UPDATE events SET change_seq = (SELECT seq FROM store_changes WHERE id = 1)
        WHERE id = NEW.id;
    END""",
)

_POSTGRES_TRIGGER = (
    """CREATE FUNCTION geogrid_event_change_seq() RETURNS trigger AS $$
    BEGIN
        NEW.change_seq := (SELECT seq FROM store_changes WHERE id = 1);
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER events_change_seq BEFORE INSERT OR UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION geogrid_event_change_seq()""",
)


def upgrade() -> None:
    op.create_table(
        "store_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(f"INSERT INTO store_changes (id, seq, store_id) VALUES (1, 1, '{uuid.uuid4().hex}')")
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("change_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE events SET change_seq = 1")
    op.create_index("ix_events_change_seq", "events", ["change_seq"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGER if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_change_seq ON events")
        op.execute("DROP FUNCTION geogrid_event_change_seq()")
    else:
        op.execute("DROP TRIGGER events_change_seq_insert")
        op.execute("DROP TRIGGER events_change_seq_update")
    op.drop_index("ix_events_change_seq", "events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("change_seq")
    op.drop_table("store_changes")
