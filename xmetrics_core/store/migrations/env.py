"""Alembic environment of the history store.

The store runs its migrations itself (``engine.upgrade_schema``), inside a transaction it has
already begun and locked, on the connection it passes as ``config.attributes["connection"]``.
A new migration is written by hand in ``versions/`` (SQLite-safe: Alembic's batch mode); a
test compares the migrated database with ``schema.metadata`` so the two never drift apart.
"""

from __future__ import annotations

from alembic import context

from xmetrics_core.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the history store's migrations run through xmetrics_core.store (open_store), "
        "which passes its connection in config.attributes['connection']"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them: Alembic's batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
