"""The migrated schema against the catalogue and the code's own table definitions, on both
backends: a metric added to the catalogue fails here until a migration adds its column."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from xmetrics_core.catalogue import MEDIA_METRICS, POST_METRICS, Level
from xmetrics_core.models import PostStatus
from xmetrics_core.store import Store, head_revision
from xmetrics_core.store.schema import STATUS_CODES, metadata, metric_column


def columns_of(store: Store, table: str) -> dict[str, dict[str, object]]:
    inspector = sa.inspect(store.engine)
    return {str(c["name"]): dict(c) for c in inspector.get_columns(table)}


def test_every_catalogue_metric_has_a_column_in_the_migrated_schema(store: Store) -> None:
    for table, metrics in (("post_snapshots", POST_METRICS), ("media_snapshots", MEDIA_METRICS)):
        columns = columns_of(store, table)
        missing = [m.path for m in metrics if metric_column(m) not in columns]
        assert not missing, (
            f"{table} lacks columns for catalogue metrics {missing}: add a migration"
        )
        assert all(
            m.level is (Level.POST if table == "post_snapshots" else Level.MEDIA) for m in metrics
        )


def test_the_metric_columns_are_nullable_integers_named_after_the_catalogue(store: Store) -> None:
    columns = columns_of(store, "post_snapshots")
    for m in POST_METRICS:
        column = columns[metric_column(m)]
        assert column["nullable"] is True, "a count X did not return must stay NULL, never 0"
        assert isinstance(column["type"], sa.Integer)
    assert metric_column(POST_METRICS[0]) == "public_impression_count"


def test_the_migrations_build_exactly_the_tables_the_code_uses(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
        revision = context.get_current_revision()
    assert differences == []
    assert revision == head_revision()


def test_every_status_but_invalid_input_has_a_stable_code_and_its_name_in_the_database(
    store: Store,
) -> None:
    assert set(STATUS_CODES) == set(PostStatus) - {PostStatus.INVALID, PostStatus.DUPLICATE}
    assert len(set(STATUS_CODES.values())) == len(STATUS_CODES)
    with store.engine.connect() as connection:
        stored = dict(connection.execute(sa.text("SELECT code, name FROM statuses")).all())
    assert stored == {code: status.value for status, code in STATUS_CODES.items()}


def test_no_column_can_hold_a_credential(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    suspicious = ("token", "secret", "password", "key_secret", "verifier", "bearer")
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            name = str(column["name"]).lower()
            assert not any(word in name for word in suspicious), f"{table}.{name}"
