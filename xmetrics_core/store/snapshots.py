"""Saving a :class:`~xmetrics_core.models.FetchResult`: append-only, idempotent, one transaction.

What one save writes (all or nothing):

* a ``fetches`` row: the read time (UTC), the source, the account, the groups asked, the API
  calls and how many snapshots belong to it; its ``fingerprint`` (a SHA-256 of the read time
  to the microsecond, source, account, groups and every ID's status) is unique, so saving the
  same result again inserts nothing (``INSERT … ON CONFLICT DO NOTHING`` on both backends)
  and reports ``stored=False``;
* one ``post_snapshots`` row per unique valid ID (INVALID input is not a Post and is not
  kept): status, detail and every catalogue metric X returned (NULL where it did not),
  and, only when X sent metric fields the catalogue lacks, those in ``extra`` (compact
  JSON ``{"group": {"field": value}}``);
* one ``media_snapshots`` row per media item, keyed by ``media_key``, and the media ↔ Post
  links;
* the ``posts`` rows (ID, author, creation time, text) for labels and ages, the creation
  time from the snowflake when X returned no Post;
* the ``post_days`` / ``media_days`` rows of the day (on its first save that day);
* the cost ledger: one read per Post X returned (see :mod:`.ledger`); none for an import
  (source ``import``: X's own CSV export, no API read).

The snapshot rows hang off the new ``fetches`` row, so they cannot exist yet: they are
appended in bulk (SQLite ``executemany``, PostgreSQL ``COPY``), every other table with
``INSERT … ON CONFLICT``. Rows are written in sorted key order so concurrent PostgreSQL
writers never wait on each other in a cycle; on SQLite the transaction takes the write lock
first (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any, Final

import sqlalchemy as sa

from xmetrics_core.catalogue import Group, Level, fields_of
from xmetrics_core.models import FetchResult, MediaRecord, PostRecord, PostStatus, group_column
from xmetrics_core.references import snowflake_time
from xmetrics_core.store.keys import (
    Account,
    KeyCache,
    PostKey,
    Source,
    account_pk,
    bulk_statement,
    chunks,
    copy_rows,
    epoch,
    insert_ignore,
    run_bulk,
    select_keys,
    utc,
)
from xmetrics_core.store.ledger import record_reads
from xmetrics_core.store.schema import (
    MEDIA_METRIC_COLUMNS,
    POST_METRIC_COLUMNS,
    STATUS_CODES,
    fetches,
    media,
    media_days,
    media_posts,
    media_snapshots,
    post_days,
    post_snapshots,
    posts,
    status_details,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveOutcome:
    """What one save did."""

    stored: bool
    """False when this very result had been saved before (nothing was written)."""
    fetch_id: int
    snapshots: int
    """Post snapshots written (one per unique valid ID)."""
    media_snapshots: int
    reads: int
    """Post reads added to the cost ledger (Posts X returned)."""


Layout = list[tuple[str, tuple[str, ...]]]


def _group_layout(level: Level, columns: Mapping[str, Any]) -> tuple[Layout, tuple[str, ...]]:
    """Per catalogue group: (group, its fields); and the columns in that order."""
    layout: Layout = []
    names: list[str] = []
    for group in Group:
        fields = fields_of(level, group)
        layout.append((group.value, fields))
        names.extend(f"{group.key}_{f}" for f in fields)
    if not set(names) <= set(columns):  # pragma: no cover - the schema is built from the catalogue
        raise RuntimeError(f"the {level.value} snapshot table lacks catalogue columns")
    return layout, tuple(names)


_POST_LAYOUT, POST_VALUE_COLUMNS = _group_layout(Level.POST, POST_METRIC_COLUMNS)
_MEDIA_LAYOUT, MEDIA_VALUE_COLUMNS = _group_layout(Level.MEDIA, MEDIA_METRIC_COLUMNS)
_INT_OR_NONE: Final = frozenset({int, type(None)})


def _count(value: object) -> int | None:
    return value if type(value) is int else None


def _metric_values(
    records: Sequence[PostRecord] | Sequence[MediaRecord], layout: Layout
) -> tuple[list[tuple[int | None, ...]], list[str | None]]:
    """Every record's catalogue metrics as one tuple (the layout's column order) and its
    ``extra`` JSON (None when X sent nothing the catalogue lacks)."""
    per_group: list[list[tuple[int | None, ...]]] = []
    extras: dict[int, dict[str, dict[str, Any]]] = {}
    for group, fields in layout:
        known = frozenset(fields)
        pick = itemgetter(*fields)
        absent = (None,) * len(fields)
        values_of_group: list[tuple[int | None, ...]] = []
        for n, values in enumerate(group_column(records, group)):
            if values is None:
                values_of_group.append(absent)
                continue
            try:
                picked = pick(values)
                values_of_group.append(picked if len(fields) > 1 else (picked,))
            except KeyError:  # X left a field out
                values_of_group.append(tuple(values.get(f) for f in fields))
            if not values.keys() <= known:
                extras.setdefault(n, {})[group] = {
                    k: v for k, v in values.items() if k not in known
                }
        per_group.append(values_of_group)
    rows = [tuple(chain.from_iterable(parts)) for parts in zip(*per_group, strict=True)]
    if not set(map(type, chain.from_iterable(rows))) <= _INT_OR_NONE:  # garbled values → NULL
        rows = [tuple(map(_count, row)) for row in rows]
    for n, metrics in enumerate(r.metrics for r in records):
        for group in metrics.other_groups():  # groups the catalogue does not know
            extras.setdefault(n, {})[group] = dict(metrics[group])
    encoded: list[str | None] = [None] * len(records)
    for n, extra in extras.items():
        encoded[n] = json.dumps(extra, sort_keys=True, separators=(",", ":"), default=str)
    return rows, encoded


def fingerprint(result: FetchResult, *, fetched_at: datetime, source: str, account: Account) -> str:
    """The result's identity: read time (µs), source, account, groups, every ID's status."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [
                utc(fetched_at).isoformat(),
                source,
                account.user_id,
                [g.value for g in result.groups],
            ],
            separators=(",", ":"),
        ).encode()
    )
    for status in result.statuses:
        digest.update(f"\n{status.id}\t{status.status.value}".encode())
    return digest.hexdigest()


SNAPSHOT_COLUMNS: Final = (
    "fetch_pk",
    "post_pk",
    "fetched_at",
    "account_pk",
    "status",
    "detail_pk",
    *POST_VALUE_COLUMNS,
    "extra",
)
MEDIA_SNAPSHOT_COLUMNS: Final = (
    "fetch_pk",
    "media_pk",
    "fetched_at",
    "account_pk",
    *MEDIA_VALUE_COLUMNS,
    "extra",
)


DAY_COLUMNS: Final = {"post_days": ("post_pk", "day"), "media_days": ("media_pk", "day")}
_DAY_INSERT: Final = {
    (d, table.name): bulk_statement(
        d, table, DAY_COLUMNS[table.name], lambda s: s.on_conflict_do_nothing()
    )
    for d in ("sqlite", "postgresql")
    for table in (post_days, media_days)
}
LINK_COLUMNS: Final = ("media_pk", "post_pk")
_LINK_INSERT: Final = {
    d: bulk_statement(d, media_posts, LINK_COLUMNS, lambda s: s.on_conflict_do_nothing())
    for d in ("sqlite", "postgresql")
}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Planned:
    """Rows computed before the transaction (keys filled in inside it)."""

    post_ids: list[str]
    post_info: dict[str, tuple[str | None, int | None, str | None]]
    snapshot_posts: list[str]
    snapshot_status: list[int]
    snapshot_detail: list[str | None]
    snapshot_metrics: list[tuple[int | None, ...]]
    snapshot_extra: list[str | None]
    media_records: list[MediaRecord]
    media_metrics: list[tuple[int | None, ...]]
    media_extra: list[str | None]
    read_posts: list[tuple[str, bool]]


def plan_rows(result: FetchResult, account: Account) -> _Planned:
    """Everything a save writes, as plain values, computed outside any transaction."""
    posts = tuple(result.posts)  # a fetch's posts build each record on access: build once
    records = {post.id: post for post in posts}
    snapshot_posts: list[str] = []
    snapshot_status: list[int] = []
    snapshot_detail: list[str | None] = []
    seen: set[str] = set()
    for status in result.statuses:
        if status.status is PostStatus.INVALID or status.id in seen:
            continue
        seen.add(status.id)
        snapshot_posts.append(status.id)
        snapshot_status.append(STATUS_CODES[status.status])
        snapshot_detail.append(status.detail or None)
    for post in posts:  # a record without a status (should not happen): X returned it
        if post.id not in seen:
            seen.add(post.id)
            snapshot_posts.append(post.id)
            snapshot_status.append(STATUS_CODES[PostStatus.OK])
            snapshot_detail.append(None)

    with_record = [records[i] for i in snapshot_posts if i in records]
    metric_rows, extra_rows = _metric_values(with_record, _POST_LAYOUT)
    by_id = dict(
        zip((r.id for r in with_record), zip(metric_rows, extra_rows, strict=True), strict=True)
    )
    empty = (None,) * len(POST_VALUE_COLUMNS)
    snapshot_metrics = [by_id[i][0] if i in by_id else empty for i in snapshot_posts]
    snapshot_extra = [by_id[i][1] if i in by_id else None for i in snapshot_posts]

    post_info: dict[str, tuple[str | None, int | None, str | None]] = {}
    for post_id in snapshot_posts:
        record = records.get(post_id)
        created = (record.created_at if record else None) or _snowflake_time(post_id)
        post_info[post_id] = (
            record.author_id if record else None,
            None if created is None else epoch(created),
            record.text if record else None,
        )
    media_records = list({m.media_key: m for m in result.media}.values())
    for item in media_records:
        for carrier in item.post_ids:
            if carrier not in post_info:
                created = _snowflake_time(carrier)
                post_info[carrier] = (None, None if created is None else epoch(created), None)
    media_metric_rows, media_extra = _metric_values(media_records, _MEDIA_LAYOUT)
    read_posts = [
        (post.id, post.author_id is not None and post.author_id == account.user_id)
        for post in records.values()
    ]
    return _Planned(
        post_ids=sorted(post_info),
        post_info=post_info,
        snapshot_posts=snapshot_posts,
        snapshot_status=snapshot_status,
        snapshot_detail=snapshot_detail,
        snapshot_metrics=snapshot_metrics,
        snapshot_extra=snapshot_extra,
        media_records=media_records,
        media_metrics=media_metric_rows,
        media_extra=media_extra,
        read_posts=read_posts,
    )


def _snowflake_time(post_id: str) -> datetime | None:
    try:
        return snowflake_time(post_id)
    except ValueError:
        return None


def post_keys(
    connection: sa.Connection,
    info: Mapping[str, tuple[str | None, int | None, str | None]],
    learnt: KeyCache,
) -> dict[str, int]:
    """Each Post ID's key, inserting unknown Posts and filling in an author, time or text
    that an earlier save did not know."""
    ids = sorted(info)
    unknown = [i for i in ids if i not in learnt.posts]
    if unknown:
        found = select_keys(connection, posts.c.id, (posts.c.pk, posts.c.author_id), unknown)
        missing = [i for i in unknown if i not in found]
        for part in chunks(missing):
            connection.execute(
                insert_ignore(connection, posts),
                [
                    {"id": i, "author_id": info[i][0], "created_at": info[i][1], "text": info[i][2]}
                    for i in part
                ],
            )
        if missing:
            found.update(
                select_keys(connection, posts.c.id, (posts.c.pk, posts.c.author_id), missing)
            )
        for post_id, (pk, author) in found.items():
            learnt.posts[post_id] = PostKey(int(pk), author is not None)
    for post_id in ids:
        key = learnt.posts[post_id]
        author, created, text = info[post_id]
        if not key.has_author and author is not None:
            connection.execute(
                sa.update(posts)
                .where(posts.c.pk == key.pk)
                .values(
                    author_id=author,
                    text=text,
                    created_at=sa.func.coalesce(created, posts.c.created_at),
                )
            )
            learnt.posts[post_id] = PostKey(key.pk, True)
    return {i: learnt.posts[i].pk for i in ids}


def _detail_keys(connection: sa.Connection, texts: set[str], learnt: KeyCache) -> dict[str, int]:
    unknown = sorted(t for t in texts if t not in learnt.details)
    if unknown:
        connection.execute(
            insert_ignore(connection, status_details), [{"text": t} for t in unknown]
        )
        found = select_keys(connection, status_details.c.text, (status_details.c.pk,), unknown)
        learnt.details.update({t: int(v[0]) for t, v in found.items()})
    return {t: learnt.details[t] for t in texts}


def _media_keys(
    connection: sa.Connection, items: Sequence[MediaRecord], learnt: KeyCache
) -> dict[str, int]:
    unknown = sorted({m.media_key: m for m in items if m.media_key not in learnt.media}.items())
    if unknown:
        for part in chunks(unknown):
            connection.execute(
                insert_ignore(connection, media),
                [{"media_key": k, "type": m.type, "duration_ms": m.duration_ms} for k, m in part],
            )
        found = select_keys(connection, media.c.media_key, (media.c.pk,), [k for k, _ in unknown])
        learnt.media.update({k: int(v[0]) for k, v in found.items()})
    return {m.media_key: learnt.media[m.media_key] for m in items}


def _note_days(
    connection: sa.Connection,
    table: sa.Table,
    keys: Sequence[int],
    day: int,
    known: dict[int, set[int]],
) -> None:
    """Record that these Posts (or media) have snapshots on ``day`` (first save of the day)."""
    seen = known.setdefault(day, set())
    new = sorted(set(keys) - seen)
    run_bulk(
        connection,
        _DAY_INSERT[(connection.dialect.name, table.name)],
        DAY_COLUMNS[table.name],
        [(k, day) for k in new],
    )
    seen.update(new)


def save_result(
    connection: sa.Connection,
    result: FetchResult,
    *,
    source: Source,
    account: Account,
    fetched_at: datetime,
    saved_at: datetime,
    learnt: KeyCache,
    planned: _Planned | None = None,
) -> SaveOutcome:
    """Write ``result`` inside the caller's write transaction (see the module docstring)."""
    plan = planned or plan_rows(result, account)
    # An import (X's own CSV export) is no API read: X bills nothing for it.
    read_posts = [] if source == "import" else plan.read_posts
    read_time = epoch(fetched_at)
    day = read_time // 86400
    account_key = account_pk(connection, account, learnt)
    inserted = connection.execute(
        insert_ignore(connection, fetches)
        .values(
            fingerprint=fingerprint(result, fetched_at=fetched_at, source=source, account=account),
            fetched_at=read_time,
            day=day,
            saved_at=epoch(saved_at),
            source=source,
            account_pk=account_key,
            groups=",".join(g.value for g in result.groups),
            api_calls=result.api_calls,
            snapshot_count=len(plan.snapshot_posts),
            media_snapshot_count=len(plan.media_records),
            read_count=len(read_posts),
        )
        .returning(fetches.c.pk)
    ).scalar()
    if inserted is None:
        existing = connection.execute(
            sa.select(fetches.c.pk, fetches.c.snapshot_count, fetches.c.media_snapshot_count).where(
                fetches.c.fingerprint
                == fingerprint(result, fetched_at=fetched_at, source=source, account=account)
            )
        ).one()
        return SaveOutcome(
            stored=False,
            fetch_id=int(existing.pk),
            snapshots=0,
            media_snapshots=0,
            reads=0,
        )
    fetch_key = int(inserted)
    post_key = post_keys(connection, plan.post_info, learnt)
    details = _detail_keys(connection, {d for d in plan.snapshot_detail if d}, learnt)

    snapshot_rows = sorted(
        (
            (
                fetch_key,
                post_key[post_id],
                read_time,
                account_key,
                status,
                details[detail] if detail else None,
                *metrics,
                extra,
            )
            for post_id, status, detail, metrics, extra in zip(
                plan.snapshot_posts,
                plan.snapshot_status,
                plan.snapshot_detail,
                plan.snapshot_metrics,
                plan.snapshot_extra,
                strict=True,
            )
        ),
        key=itemgetter(1),
    )
    copy_rows(connection, post_snapshots, SNAPSHOT_COLUMNS, snapshot_rows)
    _note_days(
        connection, post_days, [post_key[i] for i in plan.snapshot_posts], day, learnt.post_days
    )

    if plan.media_records:
        media_key = _media_keys(connection, plan.media_records, learnt)
        links = sorted(
            {
                (media_key[m.media_key], post_key[p])
                for m in plan.media_records
                for p in m.post_ids
                if p in post_key
            }
            - learnt.media_posts
        )
        run_bulk(connection, _LINK_INSERT[connection.dialect.name], LINK_COLUMNS, links)
        learnt.media_posts.update(links)
        media_rows = sorted(
            (
                (fetch_key, media_key[m.media_key], read_time, account_key, *metrics, extra)
                for m, metrics, extra in zip(
                    plan.media_records, plan.media_metrics, plan.media_extra, strict=True
                )
            ),
            key=itemgetter(1),
        )
        copy_rows(connection, media_snapshots, MEDIA_SNAPSHOT_COLUMNS, media_rows)
        _note_days(connection, media_days, list(media_key.values()), day, learnt.media_days)

    record_reads(
        connection,
        [(post_key[p], owned) for p, owned in read_posts],
        account_pk=account_key,
        source=source,
        read_at=fetched_at,
        learnt=learnt,
    )
    return SaveOutcome(
        stored=True,
        fetch_id=fetch_key,
        snapshots=len(snapshot_rows),
        media_snapshots=len(plan.media_records),
        reads=len(read_posts),
    )
