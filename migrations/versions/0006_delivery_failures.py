"""delivery failures: how late a refused card arrived, since when a message fails, why a
notice failed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import handover.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_late_by_s", sa.Integer(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failing_since", handover.models.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("publish_error", sa.Text(), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("publish_error")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("card_late_by_s")
