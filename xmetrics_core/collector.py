"""The collector: read what the watchlist says is due, save it, and say what it cost.

``python -m xmetrics_core collect`` is a thin shell around :func:`collect` (argument parsing
and printing live in :mod:`xmetrics_core.history_command`); everything here takes its store,
client, account and clock from the caller, so tests run it against the sandbox with the
sandbox's clock and "collect 48 hours" in seconds.

One run:

1. **Followed accounts** (``watch add --mine``). Each followed account's timeline
   (``GET /2/users/:id/tweets``) is read from its newest Post the store knows (``since_id``),
   or from when it was followed, and the new Posts join the watchlist (origin ``mine``). X
   bills those Posts as reads, so they count against ``max_reads``; reading them again in this
   run, the same UTC day, is free.
2. **Claim, read, save**, in chunks: :meth:`Store.claim_due` hands this run due Posts no other
   collector holds (the store's claim and lease), :meth:`Store.plan_reads` splits them into
   free ones (this account read them earlier this UTC day: X bills a Post once per UTC day)
   and billable ones, of which at most what is left of ``max_reads`` are read. Each chunk is
   one :meth:`XClient.fetch_posts` and one :meth:`Store.save` (one transaction: a run killed
   mid-way keeps every chunk it committed and nothing half-written). Claims are held until
   the run ends (so a Post whose read failed is not handed back to this run) and released
   then; a run killed with ``kill -9`` leaves them to expire with their lease.
3. **Stop early** on a refused credential or a rate limit (the rest stays due for the next
   run), or when X failed every read of a chunk.

A dry run (``dry_run=True``) reads nothing and writes nothing: what is due now, what would
be read within ``max_reads`` and what it would cost (followed accounts' timelines are not
looked at: that would be a paid read).

The cost is an estimate (:class:`~xmetrics_core.store.ReadPrices`): a Post X returned counts
as a billable read unless this account read it earlier the same UTC day (the ledger) or
earlier in this run; own Posts at the owned price.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

from xmetrics_core.catalogue import Group
from xmetrics_core.client import XClient, XUser
from xmetrics_core.errors import RateLimited, Unauthorized, XApiError, format_reset
from xmetrics_core.fetchplan import timeline_params
from xmetrics_core.models import PostStatus
from xmetrics_core.store import (
    DEFAULT_SCHEDULE,
    Account,
    Claim,
    ReadPrices,
    Schedule,
    Spend,
    Store,
    StoreError,
)
from xmetrics_core.store.watchlist import DEFAULT_LEASE, FollowedAccount

log = logging.getLogger(__name__)

#: Posts claimed per chunk: four ``GET /2/tweets`` batches of 100 (the client's 4 workers).
CHUNK: Final = 400
#: X's smallest timeline page (``max_results`` 5–100): below this budget, no timeline read.
TIMELINE_MIN_PAGE: Final = 5
TIMELINE_MAX_PAGE: Final = 100
#: Pages read per followed account and run (X serves at most 3,200 Posts of a timeline).
TIMELINE_MAX_PAGES: Final = 33
#: ``watchlist.origin`` of Posts found on a followed account's timeline.
MINE_ORIGIN: Final = "mine"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def account_of(me: XUser | None) -> Account:
    """The store's account for a reading credential: the user, or app-only (Bearer)."""
    return Account.app_only() if me is None else Account(user_id=me.id, username=me.username)


@dataclass(slots=True, kw_only=True)
class CollectReport:
    """What one run did (or, for a dry run, would do)."""

    dry_run: bool
    due: int = 0
    """Watched Posts due a read when the run started (after the followed accounts' new Posts
    joined), held by another collector or not."""
    claimed: int = 0
    """Due Posts this run held (claimed from the store)."""
    read: int = 0
    """Posts X returned (a dry run: Posts it would ask for)."""
    saved: int = 0
    """Post snapshots saved (every status, deleted and failed ones included)."""
    failed: int = 0
    """Posts whose read failed (network, X's errors); they stay due."""
    over_budget: int = 0
    """Billable due Posts left unread by ``max_reads``."""
    held_elsewhere: int = 0
    """Due Posts another collector held (claimed) during this run."""
    discovered: int = 0
    """New Posts of followed accounts added to the watchlist."""
    billable: int = 0
    """Reads X bills: Posts returned that this account had not read this UTC day."""
    billable_owned: int = 0
    free: int = 0
    """Posts read again the same UTC day (X bills nothing more)."""
    estimated_usd: float = 0.0
    api_calls: int = 0
    stopped: str | None = None
    """Why the run stopped before reading everything due (a refused credential, a rate
    limit, X failing every read), or None."""
    notes: list[str] = field(default_factory=list)
    spend: Spend | None = None
    """Reads and estimated spend today and this month after the run (None for a dry run)."""

    @property
    def skipped(self) -> int:
        return self.over_budget + self.held_elsewhere

    def summary_line(self) -> str:
        """The one line ``collect`` prints."""
        reasons = []
        if self.over_budget:
            reasons.append(f"{self.over_budget} over --max-reads")
        if self.held_elsewhere:
            reasons.append(f"{self.held_elsewhere} held by another collector")
        skipped = f"skipped {self.skipped}" + (f" ({', '.join(reasons)})" if reasons else "")
        cost = (
            f"{self.billable} billable read{_s(self.billable)} ({self.free} free: read earlier "
            f"this UTC day), estimated ${self.estimated_usd:.3f}"
        )
        if self.dry_run:
            return (
                f"collect --dry-run: {self.due} due; would read {self.read} Post{_s(self.read)}, "
                f"{skipped}; {cost}; nothing was read or saved"
            )
        parts = [
            f"collect: {self.due} due",
            f"read {self.read} Post{_s(self.read)}, saved {self.saved} snapshot{_s(self.saved)}, "
            f"{skipped}, {self.failed} failed"
            + (f", {self.discovered} new followed" if self.discovered else ""),
            cost,
        ]
        if self.spend is not None:
            parts.append(
                f"today {self.spend.today.billable_reads} billable "
                f"≈ ${self.spend.today.estimated_usd:.3f}, this month "
                f"{self.spend.month.billable_reads} ≈ ${self.spend.month.estimated_usd:.3f}"
            )
        parts.append(f"{self.api_calls} API call{_s(self.api_calls)}")
        line = "; ".join(parts)
        return line + (f"; stopped: {self.stopped}" if self.stopped else "")


def _s(count: int) -> str:
    return "" if count == 1 else "s"


class _Budget:
    """What is left of ``max_reads`` (None: no limit)."""

    def __init__(self, max_reads: int | None) -> None:
        if max_reads is not None and max_reads < 0:
            raise ValueError("max_reads cannot be negative")
        self.left = max_reads

    def take(self, wanted: Sequence[str]) -> list[str]:
        if self.left is None:
            return list(wanted)
        taken = list(wanted[: self.left])
        self.left -= len(taken)
        return taken

    def allows(self, count: int) -> bool:
        return self.left is None or self.left >= count

    def page_size(self) -> int:
        if self.left is None:
            return TIMELINE_MAX_PAGE
        return max(TIMELINE_MIN_PAGE, min(TIMELINE_MAX_PAGE, self.left))


def collect(
    *,
    store: Store,
    client: XClient,
    me: XUser | None,
    clock: Clock = utc_now,
    schedule: Schedule = DEFAULT_SCHEDULE,
    max_reads: int | None = None,
    dry_run: bool = False,
    prices: ReadPrices | None = None,
    groups: Iterable[Group] | None = None,
    chunk: int = CHUNK,
    lease: timedelta = DEFAULT_LEASE,
) -> CollectReport:
    """Read the watched Posts that are due (see the module docstring); never raises for X's
    errors (they end the run and are in :attr:`CollectReport.stopped`), raises
    :class:`~xmetrics_core.store.StoreError` when the store fails."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    account = account_of(me)
    cost = prices or ReadPrices()
    if dry_run:
        return _dry_run(
            store, account=account, now=clock(), schedule=schedule, max_reads=max_reads, prices=cost
        )
    report = CollectReport(dry_run=False)
    budget = _Budget(max_reads)
    billed: set[str] = set()  # Posts X billed this account for earlier in this run, today
    wanted = tuple(groups) if groups is not None else None
    _discover(store, client, report, me=me, budget=budget, billed=billed, clock=clock)
    report.due = len(store.due(now=clock(), schedule=schedule))
    claims: list[Claim] = []
    attempted: set[str] = set()
    try:
        while report.stopped is None:
            now = clock()
            claim = store.claim_due(limit=chunk, now=now, schedule=schedule, lease=lease)
            if claim.post_ids:
                claims.append(claim)
            fresh = [i for i in claim.post_ids if i not in attempted]
            if not fresh:
                break
            attempted.update(fresh)
            report.claimed += len(fresh)
            _read_chunk(
                store,
                client,
                report,
                fresh,
                me=me,
                account=account,
                now=now,
                budget=budget,
                billed=billed,
                prices=cost,
                groups=wanted,
            )
    finally:
        for claim in claims:
            try:
                store.release(claim)
            except StoreError as exc:  # the lease ends the claim anyway
                log.warning("could not release a claim: %s", exc.message)
    report.held_elsewhere = max(0, report.due - report.claimed)
    report.estimated_usd = cost.cost(billable=report.billable, owned=report.billable_owned)
    report.spend = store.spend(now=clock(), account=account, prices=cost)
    return report


def _read_chunk(
    store: Store,
    client: XClient,
    report: CollectReport,
    ids: Sequence[str],
    *,
    me: XUser | None,
    account: Account,
    now: datetime,
    budget: _Budget,
    billed: set[str],
    prices: ReadPrices,
    groups: tuple[Group, ...] | None,
) -> None:
    plan = store.plan_reads(ids, account=account, now=now, prices=prices)
    free_before = plan.read_today_ids | billed
    free = [i for i in ids if i in free_before]
    billable = [i for i in ids if i not in free_before]
    taken = set(budget.take(billable))
    report.over_budget += len(billable) - len(taken)
    to_read = [i for i in ids if i in free_before or i in taken]
    if not to_read:
        return
    try:
        result = client.fetch_posts(to_read, groups=groups, me=me)
    except RateLimited as exc:
        report.stopped = f"rate limited by X; {format_reset(exc.reset_at)}"
        return
    except XApiError as exc:
        report.stopped = exc.message
        return
    report.api_calls += result.api_calls
    outcome = store.save(result, source="collector", account=account)
    report.saved += outcome.snapshots
    returned = {p.id: p for p in result.posts}
    report.read += len(returned)
    newly = [i for i in returned if i not in free_before]
    report.billable += len(newly)
    report.billable_owned += sum(
        1 for i in newly if me is not None and returned[i].author_id == me.id
    )
    report.free += sum(1 for i in free if i in returned)
    billed.update(returned)
    failed = sum(1 for s in result.statuses if s.status is PostStatus.FAILED)
    report.failed += failed
    if failed and failed == len(to_read):
        details = {s.detail for s in result.statuses if s.detail}
        report.stopped = "X failed every read of a batch" + (
            f" ({sorted(details)[0]})" if details else ""
        )


def _discover(
    store: Store,
    client: XClient,
    report: CollectReport,
    *,
    me: XUser | None,
    budget: _Budget,
    billed: set[str],
    clock: Clock,
) -> None:
    """Add the followed accounts' new Posts to the watchlist (paid reads: see the module). A
    refused credential or a rate limit stops the run; another error skips that account."""
    for followed in store.followed():
        if not budget.allows(TIMELINE_MIN_PAGE):
            report.notes.append(
                "followed accounts' new Posts not looked for: fewer than "
                f"{TIMELINE_MIN_PAGE} reads left of --max-reads"
            )
            return
        name = followed.account.username or followed.account.user_id
        try:
            found, calls = _timeline_since(client, followed, budget=budget)
        except RateLimited as exc:
            report.stopped = (
                f"rate limited by X reading @{name}'s timeline; {format_reset(exc.reset_at)}"
            )
            return
        except Unauthorized as exc:
            report.stopped = exc.message
            return
        except XApiError as exc:
            report.notes.append(f"@{name}'s new Posts not looked for: {exc.message}")
            continue
        report.api_calls += calls
        new = [i for i in found if i not in billed]
        billed.update(found)
        report.billable += len(new)
        if me is not None and followed.account.user_id == me.id:
            report.billable_owned += len(new)
        if found:
            report.discovered += store.watch(found, now=clock(), origin=MINE_ORIGIN)


def _timeline_since(
    client: XClient, followed: FollowedAccount, *, budget: _Budget
) -> tuple[list[str], int]:
    """The IDs of the account's Posts newer than the newest the store knows (or than when it
    was followed), at most what the budget allows, and the number of API calls made."""
    user_id = followed.account.user_id
    base = timeline_params(
        start_time=followed.followed_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        page_size=budget.page_size(),
    )
    if followed.newest_post_id is not None:
        del base["start_time"]
        base["since_id"] = followed.newest_post_id
    found: list[str] = []
    token: str | None = None
    calls = 0
    for _ in range(TIMELINE_MAX_PAGES):
        if not budget.allows(TIMELINE_MIN_PAGE):
            break
        page = base | {"max_results": str(budget.page_size())}
        if token:
            page["pagination_token"] = token
        body = client.get_json(f"/2/users/{quote(user_id)}/tweets", page)
        calls += 1
        ids = [
            str(item["id"])
            for item in body.get("data") or []
            if isinstance(item, dict) and "id" in item and str(item["id"]) not in found
        ]
        found.extend(budget.take(ids))
        meta = body.get("meta") or {}
        next_token = meta.get("next_token") if isinstance(meta, dict) else None
        if not next_token or next_token == token:
            break
        token = str(next_token)
    return found, calls


def _dry_run(
    store: Store,
    *,
    account: Account,
    now: datetime,
    schedule: Schedule,
    max_reads: int | None,
    prices: ReadPrices,
) -> CollectReport:
    due = [d.post_id for d in store.due(now=now, schedule=schedule)]
    plan = store.plan_reads(due, account=account, now=now, prices=prices)
    billable = [i for i in due if i not in plan.read_today_ids]
    taken = _Budget(max_reads).take(billable)
    owned = sum(1 for i in taken if i in plan.owned_ids)
    report = CollectReport(
        dry_run=True,
        due=len(due),
        read=len(due) - len(billable) + len(taken),
        over_budget=len(billable) - len(taken),
        billable=len(taken),
        billable_owned=owned,
        free=len(due) - len(billable),
        estimated_usd=prices.cost(billable=len(taken), owned=owned),
    )
    if store.followed():
        report.notes.append("followed accounts' timelines are not read in a dry run")
    return report


__all__ = [
    "CHUNK",
    "MINE_ORIGIN",
    "CollectReport",
    "account_of",
    "collect",
    "utc_now",
]
