"""Quarantine: a request digest kept once (a unique index), and a count of requests dropped when full.

Rows kept before get the digest of their request; of identical ones, only the first received
gets it, and the rest stay (with no digest) until retention deletes them.

Revision ID: 0002_quarantine_dedupe
Revises: 0001_baseline
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0002_quarantine_dedupe"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def _digest(source: str, method: str, content_type: str, query: str, body: bytes) -> str:
    """hub.store.quarantine.request_digest as of this revision (a migration must not change with the code)."""
    digest = hashlib.sha256()
    for part in (source.encode(), method.encode(), content_type.encode(),
                 orjson.dumps(orjson.loads(query), option=orjson.OPT_SORT_KEYS), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("digest", sa.String(64)))
    quarantine = sa.table("quarantine", sa.column("id"), sa.column("source"), sa.column("received_at"),
                          sa.column("method"), sa.column("content_type"), sa.column("query"),
                          sa.column("body", sa.LargeBinary), sa.column("digest"))
    db = op.get_bind()
    first: dict[str, str] = {}
    ids = list(db.execute(sa.select(quarantine.c.id).order_by(quarantine.c.received_at, quarantine.c.id)).scalars())
    for start in range(0, len(ids), 500):  # bodies a page at a time: an unbounded quarantine is why this exists
        page_ids = ids[start:start + 500]
        page = {row.id: row for row in db.execute(sa.select(quarantine).where(quarantine.c.id.in_(page_ids)))}
        for row_id in page_ids:
            row = page[row_id]
            first.setdefault(_digest(row.source, row.method, row.content_type, row.query, row.body), row_id)
    if first:
        db.execute(sa.update(quarantine).where(quarantine.c.id == sa.bindparam("b_id"))
                   .values(digest=sa.bindparam("b_digest")),
                   [{"b_id": row_id, "b_digest": digest} for digest, row_id in first.items()])
    with op.batch_alter_table("quarantine") as batch:
        batch.create_index("ux_quarantine_digest", ["digest"], unique=True)
    op.create_table(
        "quarantine_dropped",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("dropped", sa.Integer, nullable=False),
        sa.Column("last_dropped_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quarantine_dropped")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_index("ux_quarantine_digest")
        batch.drop_column("digest")
