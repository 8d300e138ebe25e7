"""The history store's one entry point: :func:`open_store` → :class:`Store`.

A :class:`Store` is thread-safe (one SQLAlchemy engine, a pool of connections) and meant to be
opened once per process (the dashboard keeps it in ``st.cache_resource``). Every method runs
its own short transaction, turns driver errors into :class:`~.errors.StoreError` subclasses,
and takes times as timezone-aware datetimes (``now`` is a parameter wherever the answer
depends on it, so a clock can be injected: the sandbox's, in tests and the Demo).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

import pandas as pd
import sqlalchemy as sa

from xmetrics_core.catalogue import ALL_GROUPS, Context, Group
from xmetrics_core.models import FetchResult
from xmetrics_core.store import history, ledger, snapshots, watchlist
from xmetrics_core.store.engine import (
    DEFAULT_BUSY_TIMEOUT,
    WRITE,
    create_store_engine,
    database_url_from_env,
    normalised_url,
    safe_url,
    store_error,
    translated,
    upgrade_schema,
)
from xmetrics_core.store.errors import StoreLocked
from xmetrics_core.store.history import DEFAULT_AGES, BaselineMethod, Scope
from xmetrics_core.store.keys import (
    Account,
    KeyCache,
    Source,
    checked_source,
    existing_account_pk,
    from_epoch,
)
from xmetrics_core.store.ledger import ReadPlan, ReadPrices, Spend
from xmetrics_core.store.schema import fetches, media_snapshots, post_snapshots, posts
from xmetrics_core.store.snapshots import SaveOutcome
from xmetrics_core.store.watchlist import (
    DEFAULT_LEASE,
    DEFAULT_SCHEDULE,
    Claim,
    DuePost,
    FollowedAccount,
    Schedule,
    WatchedPost,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: PostgreSQL writers retry a transaction the server aborted to break a deadlock.
_WRITE_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSummary:
    """What the store holds, for a status line."""

    backend: str
    url: str
    """Password masked."""
    revision: str
    posts: int
    snapshots: int
    media_snapshots: int
    fetches: int
    first_fetched_at: datetime | None
    last_fetched_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Snapshots, history queries, the cost ledger and the watchlist of one database."""

    def __init__(self, *, engine: sa.Engine, url: str | sa.URL, revision: str) -> None:
        self._engine = engine
        self._url = url
        self._revision = revision
        self._keys = KeyCache()

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with its password masked."""
        return safe_url(self._url)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with translated(self._url), self._engine.connect() as connection:
            try:
                yield connection
            finally:
                connection.rollback()

    def _write(self, work: Callable[[sa.Connection, KeyCache], T]) -> T:
        """Run ``work`` in one write transaction; keys it learnt join the cache after COMMIT."""
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            learnt = self._keys.snapshot()
            try:
                with (
                    translated(self._url),
                    self._engine.connect().execution_options(**{WRITE: True}) as connection,
                    connection.begin(),
                ):
                    outcome = work(connection, learnt)
            except StoreLocked as exc:
                deadlock = "deadlock" in str(exc.__cause__ or "").lower()
                if not deadlock or attempt == _WRITE_ATTEMPTS:
                    raise
                log.info("history store: retrying a write after a deadlock (attempt %d)", attempt)
                time.sleep(0.05 * attempt)
                continue
            self._keys.merge(learnt)
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    def _scope(
        self,
        connection: sa.Connection,
        *,
        post_ids: Iterable[str] | None = None,
        author_id: str | None = None,
        account: Account | None = None,
    ) -> Scope:
        ids = None if post_ids is None else tuple(dict.fromkeys(post_ids))
        if account is None:
            return Scope(post_ids=ids, author_id=author_id)
        key = existing_account_pk(connection, account.user_id, self._keys)
        return Scope(
            post_ids=ids, author_id=author_id, account_pk=key, everything_empty=key is None
        )

    # -- saving --------------------------------------------------------------------------------

    def save(
        self,
        result: FetchResult,
        *,
        source: Source,
        account: Account | None,
        fetched_at: datetime | None = None,
    ) -> SaveOutcome:
        """Keep every snapshot of ``result`` (append-only; saving it again stores nothing).

        ``account`` is the X account whose credential read it (None: an app-only Bearer
        token). ``fetched_at`` defaults to ``result.fetched_at``, the time of the read (an
        import passes its export's end date); one of them is required.
        """
        when = fetched_at or result.fetched_at
        if when is None:
            raise ValueError("the result has no fetched_at: pass the time of the read")
        who = account or Account.app_only()
        origin = checked_source(source)
        plan = snapshots.plan_rows(result, who)
        saved_at = _now()
        return self._write(
            lambda connection, learnt: snapshots.save_result(
                connection,
                result,
                source=origin,
                account=who,
                fetched_at=when,
                saved_at=saved_at,
                learnt=learnt,
                planned=plan,
            )
        )

    # -- history -------------------------------------------------------------------------------

    def latest(
        self,
        post_ids: Iterable[str] | None = None,
        *,
        author_id: str | None = None,
        account: Account | None = None,
        with_metrics: bool = True,
    ) -> pd.DataFrame:
        """The newest snapshot per Post (:func:`history.latest`); all Posts when no filter."""
        with self._reading() as connection:
            scope = self._scope(connection, post_ids=post_ids, author_id=author_id, account=account)
            return history.latest(connection, scope, with_metrics=with_metrics)

    def growth(
        self,
        post_ids: Iterable[str],
        *,
        field: str,
        contexts: Iterable[Context] = tuple(Context),
        account: Account | None = None,
    ) -> pd.DataFrame:
        """One metric over hours since posting, by context (:func:`history.growth`)."""
        with self._reading() as connection:
            scope = self._scope(connection, post_ids=post_ids, account=account)
            return history.growth(connection, scope, field=field, contexts=contexts)

    def values_at_ages(
        self,
        post_ids: Iterable[str] | None = None,
        *,
        field: str,
        context: Context = Context.TOTAL,
        ages: Sequence[timedelta] = DEFAULT_AGES,
        author_id: str | None = None,
        account: Account | None = None,
        max_gap_factor: float = 1.0,
    ) -> pd.DataFrame:
        """The value at 1 h, 6 h, 24 h, 48 h, 7 d …, interpolated and marked so
        (:func:`history.values_at_ages`)."""
        with self._reading() as connection:
            scope = self._scope(connection, post_ids=post_ids, author_id=author_id, account=account)
            return history.values_at_ages(
                connection,
                scope,
                field=field,
                context=context,
                ages=ages,
                max_gap_factor=max_gap_factor,
            )

    def baseline(
        self,
        *,
        author_id: str,
        field: str,
        post_ids: Iterable[str] | None = None,
        context: Context = Context.TOTAL,
        ages: Sequence[timedelta] = DEFAULT_AGES,
        method: BaselineMethod = "median",
        trim: float = 0.25,
        min_others: int = 3,
        account: Account | None = None,
    ) -> pd.DataFrame:
        """Each Post against the author's same-age normal, "× normal" (:func:`history.baseline`)."""
        with self._reading() as connection:
            scope = self._scope(connection, post_ids=post_ids, account=account)
            return history.baseline(
                connection,
                scope,
                author_id=author_id,
                field=field,
                context=context,
                ages=ages,
                method=method,
                trim=trim,
                min_others=min_others,
            )

    def best_time(
        self,
        *,
        author_id: str,
        time_zone: str = "UTC",
        min_age: timedelta = timedelta(hours=24),
        account: Account | None = None,
    ) -> pd.DataFrame:
        """Weekday × hour heatmap data of the author's Posts (:func:`history.best_time`)."""
        with self._reading() as connection:
            scope = self._scope(connection, account=account)
            return history.best_time(
                connection, scope, author_id=author_id, time_zone=time_zone, min_age=min_age
            )

    def retention(
        self,
        post_ids: Iterable[str] | None = None,
        *,
        media_keys: Sequence[str] | None = None,
        contexts: Iterable[Context] = (Context.TOTAL,),
        account: Account | None = None,
    ) -> pd.DataFrame:
        """Video quartile retention at every snapshot (:func:`history.retention`)."""
        with self._reading() as connection:
            scope = self._scope(connection, post_ids=post_ids, account=account)
            return history.retention(connection, scope, media_keys=media_keys, contexts=contexts)

    def history_rows(
        self,
        post_ids: Iterable[str] | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        groups: Iterable[Group] = ALL_GROUPS,
        account: Account | None = None,
    ) -> pd.DataFrame:
        """One row per Post × snapshot, oldest first, with ``fetch``'s metric columns
        (:func:`history.history_rows`)."""
        with self._reading() as connection:
            scope = self._scope(connection, post_ids=post_ids, account=account)
            return history.history_rows(connection, scope, since=since, until=until, groups=groups)

    def summary(self) -> StoreSummary:
        with self._reading() as connection:
            count = sa.func.count()
            first, last, n_fetches = connection.execute(
                sa.select(
                    sa.func.min(fetches.c.fetched_at), sa.func.max(fetches.c.fetched_at), count
                )
            ).one()
            return StoreSummary(
                backend=self.backend,
                url=self.url,
                revision=self._revision,
                posts=connection.execute(sa.select(count).select_from(posts)).scalar_one(),
                snapshots=connection.execute(
                    sa.select(count).select_from(post_snapshots)
                ).scalar_one(),
                media_snapshots=connection.execute(
                    sa.select(count).select_from(media_snapshots)
                ).scalar_one(),
                fetches=int(n_fetches),
                first_fetched_at=None if first is None else from_epoch(first),
                last_fetched_at=None if last is None else from_epoch(last),
            )

    # -- the cost ledger -----------------------------------------------------------------------

    def spend(
        self,
        *,
        now: datetime | None = None,
        account: Account | None = None,
        prices: ReadPrices | None = None,
    ) -> Spend:
        """Reads and estimated spend today and this month (:func:`ledger.spend`)."""
        with self._reading() as connection:
            return ledger.spend(
                connection,
                now=now or _now(),
                account=account,
                prices=prices or ReadPrices(),
                cache=self._keys,
            )

    def plan_reads(
        self,
        post_ids: Iterable[str],
        *,
        account: Account | None,
        now: datetime | None = None,
        prices: ReadPrices | None = None,
    ) -> ReadPlan:
        """How many billable reads fetching ``post_ids`` now would make (:func:`ledger.plan_reads`)."""
        with self._reading() as connection:
            return ledger.plan_reads(
                connection,
                post_ids,
                account=account or Account.app_only(),
                now=now or _now(),
                prices=prices or ReadPrices(),
                cache=self._keys,
            )

    # -- the watchlist -------------------------------------------------------------------------

    def watch(
        self, post_ids: Iterable[str], *, now: datetime | None = None, origin: str = "manual"
    ) -> int:
        """Add Posts to the watchlist; returns how many were new."""
        ids = list(post_ids)
        return self._write(
            lambda connection, learnt: watchlist.add(
                connection, ids, now=now or _now(), origin=origin, learnt=learnt
            )
        )

    def unwatch(self, post_ids: Iterable[str]) -> int:
        """Remove Posts from the watchlist (their history stays); returns how many were watched."""
        ids = list(post_ids)
        return self._write(lambda connection, _learnt: watchlist.remove(connection, ids))

    def watchlist(self) -> list[WatchedPost]:
        with self._reading() as connection:
            return watchlist.listed(connection)

    def watch_account(self, account: Account, *, now: datetime | None = None) -> bool:
        """Follow an account's new Posts (the collector's ``--mine``)."""
        return self._write(
            lambda connection, learnt: watchlist.watch_account(
                connection, account, now=now or _now(), learnt=learnt
            )
        )

    def unwatch_account(self, account: Account) -> bool:
        return self._write(
            lambda connection, _learnt: watchlist.unwatch_account(connection, account.user_id)
        )

    def followed_accounts(self) -> list[Account]:
        with self._reading() as connection:
            return watchlist.followed_accounts(connection)

    def followed(self) -> list[FollowedAccount]:
        """Followed accounts with when they were followed and their newest known Post."""
        with self._reading() as connection:
            return watchlist.followed(connection)

    def due(
        self,
        *,
        now: datetime | None = None,
        schedule: Schedule = DEFAULT_SCHEDULE,
        limit: int | None = None,
    ) -> list[DuePost]:
        """Watched Posts due a read (claimed or not): what ``collect --dry-run`` shows."""
        with self._reading() as connection:
            return watchlist.due(connection, now=now or _now(), schedule=schedule, limit=limit)

    def claim_due(
        self,
        *,
        limit: int,
        now: datetime | None = None,
        schedule: Schedule = DEFAULT_SCHEDULE,
        lease: timedelta = DEFAULT_LEASE,
    ) -> Claim:
        """Claim up to ``limit`` due Posts no other collector holds (see :mod:`.watchlist`)."""
        return self._write(
            lambda connection, _learnt: watchlist.claim(
                connection, now=now or _now(), schedule=schedule, limit=limit, lease=lease
            )
        )

    def release(self, claim: Claim) -> int:
        """End a claim once its Posts' results are saved (or abandoned)."""
        return self._write(lambda connection, _learnt: watchlist.release(connection, claim.token))


def open_store(
    url: str | sa.URL | None = None,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> Store:
    """Open (create, migrate) the history store at ``url``, or where the environment says
    (:func:`~.engine.database_url_from_env`).

    Raises a :class:`~.errors.StoreError` subclass the caller can show and go on without
    history: :class:`~.errors.StoreUnavailable`, ``StoreLocked``, ``StoreReadOnly``,
    ``StoreCorrupt`` or ``StoreTooNew``.
    """
    target = normalised_url(url if url is not None else database_url_from_env())
    engine = create_store_engine(target, busy_timeout=busy_timeout)
    try:
        with translated(target):
            revision = upgrade_schema(engine, target)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine=engine, url=target, revision=revision)


__all__ = ["Store", "StoreSummary", "open_store", "store_error"]
