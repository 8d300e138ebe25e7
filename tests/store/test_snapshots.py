"""Saving FetchResults: every status and metric kept, append-only, idempotent, unknown fields
kept, no secret ever written. Real fetches come from the sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.store.builders import ME, T0, hours, impressions, post_id, record, result
from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.cli import post_table
from xmetrics_core.client import XClient
from xmetrics_core.credentials import OAuth1Credential, OAuth2Credential
from xmetrics_core.models import FetchResult, IdStatus, PostStatus
from xmetrics_core.references import parse_references, snowflake_time
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.store import Account, Store
from xmetrics_core.store.history import FETCHED_AT


def oauth1(sandbox: Any) -> OAuth1Credential:
    demo = sandbox.demo
    return OAuth1Credential(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        access_token=demo.access_token,
        access_token_secret=demo.access_token_secret,
    )


def fetch(sandbox: Any, credential: Any, text: str) -> tuple[FetchResult, Account]:
    with XClient(
        credential=credential,
        base_url=sandbox.base_url,
        clock=sandbox.clock.now,
        retry=RetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
    ) as client:
        me = client.get_me()
        fetched = client.fetch_posts(parse_references(text))
    return fetched, Account(user_id=me.id, username=me.username)


def every_id(sandbox: Any) -> str:
    world = sandbox.world
    return " ".join([*(p.id for p in world.posts), *world.deleted_ids, "not-a-post", "12"])


def test_a_sandbox_fetch_is_kept_whole_and_reads_back_as_the_cli_prints_it(
    store: Store, sandbox: Any
) -> None:
    fetched, account = fetch(sandbox, oauth1(sandbox), every_id(sandbox))
    outcome = store.save(fetched, source="cli", account=account)

    valid = [s for s in fetched.statuses if s.status is not PostStatus.INVALID]
    assert outcome.stored and outcome.snapshots == len(valid)
    assert outcome.media_snapshots == len(fetched.media) > 0
    assert outcome.reads == len(fetched.posts)
    rows = store.history_rows()
    assert sorted(rows["id"]) == sorted(s.id for s in valid)  # invalid input is not a Post
    expected = post_table(fetched, ALL_GROUPS).set_index("id").loc[rows["id"]]
    metric_columns = [c for c in rows.columns if "_metrics." in c]
    assert metric_columns == [c for c in expected.columns if "_metrics." in c]
    pd.testing.assert_frame_equal(
        rows.set_index("id")[metric_columns], expected[metric_columns], check_names=False
    )
    assert list(rows["status"]) == list(expected["status"])
    assert list(rows["status_detail"]) == list(expected["status_detail"])
    assert (rows[FETCHED_AT] == pd.Timestamp(fetched.fetched_at).floor("s")).all()


def test_video_snapshots_are_keyed_by_media_key_and_linked_to_every_carrier(
    store: Store, sandbox: Any
) -> None:
    fetched, account = fetch(sandbox, oauth1(sandbox), every_id(sandbox))
    store.save(fetched, source="dashboard", account=account)
    with store.engine.connect() as connection:
        keys = connection.execute(sa.text("SELECT media_key FROM media")).scalars().all()
        links = connection.execute(
            sa.text(
                "SELECT m.media_key, p.id FROM media_posts l JOIN media m ON m.pk = l.media_pk "
                "JOIN posts p ON p.pk = l.post_pk"
            )
        ).all()
    assert sorted(keys) == sorted(m.media_key for m in fetched.media)
    assert set(links) == {(m.media_key, p) for m in fetched.media for p in m.post_ids}
    videos = [m for m in fetched.media if m.value(Group.NON_PUBLIC, "playback_0_count")]
    assert videos, "the demo world has videos with private playback counts"
    frame = store.retention(media_keys=[videos[0].media_key])
    q0 = videos[0].value(Group.NON_PUBLIC, "playback_0_count")
    q100 = videos[0].value(Group.NON_PUBLIC, "playback_100_count")
    assert frame.loc[frame["quartile"] == 100, "viewers"].iloc[0] == q100
    assert frame.loc[frame["quartile"] == 100, "retention"].iloc[0] == pytest.approx(
        (q100 or 0) / (q0 or 1)
    )


def test_saving_the_same_result_twice_stores_it_once(store: Store, sandbox: Any) -> None:
    fetched, account = fetch(sandbox, oauth1(sandbox), every_id(sandbox))
    first = store.save(fetched, source="dashboard", account=account)
    again = store.save(fetched, source="dashboard", account=account)
    assert first.stored and not again.stored
    assert again.fetch_id == first.fetch_id
    summary = store.summary()
    assert summary.fetches == 1
    assert summary.snapshots == first.snapshots
    assert store.spend(account=account, now=fetched.fetched_at).today.reads == first.reads


def test_the_same_posts_read_again_later_are_a_second_snapshot(store: Store) -> None:
    pid = post_id(T0)
    for n in range(3):
        store.save(
            result([record(pid, created=T0, metrics=impressions(10 * n))], at=T0 + hours(n + 1)),
            source="collector",
            account=Account(user_id=ME),
        )
    rows = store.history_rows([pid])
    assert list(rows["public_metrics.impression_count"]) == [0, 10, 20]
    assert rows[FETCHED_AT].is_monotonic_increasing


def test_fields_x_adds_are_kept_and_absent_when_there_are_none(store: Store) -> None:
    new_field = impressions(5)
    new_field[Group.PUBLIC.value] = {**new_field[Group.PUBLIC.value], "share_count": 7}
    new_group = {**impressions(6), "creator_metrics": {"tips": 2}}
    plain = impressions(7)
    ids = [post_id(T0, n) for n in range(3)]
    fetched = result(
        [
            record(ids[0], created=T0, metrics=new_field),
            record(ids[1], created=T0, metrics=new_group),
            record(ids[2], created=T0, metrics=plain),
        ],
        at=T0 + hours(1),
    )
    store.save(fetched, source="cli", account=Account(user_id=ME))
    with store.engine.connect() as connection:
        extras = dict(
            connection.execute(
                sa.text(
                    "SELECT p.id, s.extra FROM post_snapshots s JOIN posts p ON p.pk = s.post_pk"
                )
            ).all()
        )
    assert json.loads(extras[ids[0]]) == {"public_metrics": {"share_count": 7}}
    assert json.loads(extras[ids[1]]) == {"creator_metrics": {"tips": 2}}
    assert extras[ids[2]] is None
    assert store.history_rows([ids[0]])["public_metrics.impression_count"].iloc[0] == 5


def test_a_post_x_did_not_return_keeps_its_status_and_its_age_from_the_id(store: Store) -> None:
    gone = post_id(T0 - hours(5))
    fetched = result(
        [],
        at=T0,
        statuses=[IdStatus(id=gone, status=PostStatus.NOT_FOUND, detail="deleted", source=gone)],
    )
    store.save(fetched, source="cli", account=Account(user_id=ME))
    rows = store.history_rows([gone])
    assert list(rows["status"]) == ["not_found"] and list(rows["status_detail"]) == ["deleted"]
    assert rows["public_metrics.like_count"].isna().all()
    latest = store.latest([gone], with_metrics=False)
    assert latest["created_at"].iloc[0] == pd.Timestamp(snowflake_time(gone)).floor("s")
    assert store.latest([gone]).empty  # no snapshot with metrics
    assert store.spend(now=T0).today.reads == 0  # X returned nothing: nothing billed


def test_a_later_read_fills_in_the_author_and_text_an_earlier_one_lacked(store: Store) -> None:
    pid = post_id(T0)
    failed = IdStatus(id=pid, status=PostStatus.FAILED, detail="503 after 5 attempts", source=pid)
    store.save(result([], at=T0 + hours(1), statuses=[failed]), source="collector", account=None)
    store.save(
        result([record(pid, created=T0, metrics=impressions(3), text="hello")], at=T0 + hours(2)),
        source="collector",
        account=Account(user_id=ME),
    )
    latest = store.latest([pid])
    assert latest["author_id"].iloc[0] == ME and latest["text"].iloc[0] == "hello"


def test_a_result_needs_a_read_time_in_utc(store: Store) -> None:
    pid = post_id(T0)
    undated = FetchResult(posts=(record(pid, created=T0, metrics=impressions(1)),))
    with pytest.raises(ValueError, match="fetched_at"):
        store.save(undated, source="cli", account=None)
    with pytest.raises(ValueError, match="time zone"):
        store.save(undated, source="cli", account=None, fetched_at=datetime(2026, 11, 2, 9))
    with pytest.raises(ValueError, match="source"):
        store.save(undated, source="browser", account=None, fetched_at=T0)  # type: ignore[arg-type]


def test_an_import_may_give_its_own_read_time(store: Store) -> None:
    pid = post_id(T0)
    undated = FetchResult(posts=(record(pid, created=T0, metrics=impressions(4)),))
    store.save(
        undated, source="import", account=Account(user_id=ME), fetched_at=T0 + timedelta(days=2)
    )
    rows = store.history_rows([pid])
    assert rows[FETCHED_AT].iloc[0] == pd.Timestamp(T0 + timedelta(days=2))


def secrets_in(data: bytes, secrets: frozenset[str]) -> set[str]:
    return {s for s in secrets if len(s) >= 8 and s.encode() in data}


def stored_bytes(store: Store, store_url: str) -> bytes:
    """Everything the store holds: the SQLite files, or every PostgreSQL row as text."""
    if store.backend == "sqlite":
        store.close()
        path = Path(sa.make_url(store_url).database or "")
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with store.engine.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        return "\n".join(
            str(row)
            for table in tables
            for row in connection.exec_driver_sql(f'SELECT * FROM "{table}"').all()
        ).encode()


def test_the_store_never_holds_a_token_or_secret(
    store: Store, store_url: str, sandbox_factory: Any
) -> None:
    sandbox = sandbox_factory()
    texts = every_id(sandbox)
    one, account = fetch(sandbox, oauth1(sandbox), texts)
    issued = sandbox.issue_oauth2_token(sandbox.world.demo_user_id)
    oauth2 = OAuth2Credential(
        access_token=issued["access_token"], refresh_token=issued.get("refresh_token")
    )
    two, _ = fetch(sandbox, oauth2, texts)
    store.save(one, source="dashboard", account=account)
    store.save(two, source="cli", account=account)
    store.watch([p.id for p in one.posts[:3]])
    store.watch_account(account)
    secrets = sandbox.issued_secrets()
    assert issued["access_token"] in secrets and len(secrets) > 5
    data = stored_bytes(store, store_url)
    assert account.user_id.encode() in data, "the scan reads the stored data"
    assert secrets_in(data, secrets) == set()
