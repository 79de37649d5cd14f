"""Residents' reports: tracking numbers on events, and rate counts shared by every worker.

- ``events.tracking`` (unique where set): the number a resident tracks a report by;
- ``rate_counts``: requests per key (a client address, a phone) in a fixed window.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN in place: a batch copy of events would drop migration 0005's triggers
    op.add_column("events", sa.Column("tracking", sa.String(length=15), nullable=True))
    op.create_index("ix_events_tracking", "events", ["tracking"], unique=True)
    op.create_table(
        "rate_counts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_counts")
    op.drop_index("ix_events_tracking", "events")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE events DROP COLUMN tracking")  # in place: the triggers stay
    else:
        op.drop_column("events", "tracking")
