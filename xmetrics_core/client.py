"""The X API v2 client: what the dashboard and the CLI call. A thin facade over four stages:

* :mod:`xmetrics_core.references`: pasted text → Post references;
* :mod:`xmetrics_core.fetchplan`: the batches of ``GET /2/tweets`` and the reconciliation of
  X's answers into one status per ID (pure);
* :mod:`xmetrics_core.transport`: the one request path (auth, timeouts, retries, errors,
  rate-limit headers, OAuth 2.0 refresh) over an injectable :class:`~xmetrics_core.transport.Transport`;
* :mod:`xmetrics_core.parsing`: X's JSON → records.

:meth:`XClient.fetch_posts` runs the plan's batches on a bounded thread pool (``max_workers``,
4 by default) and hands each answer back to the plan as it arrives, so the public-only
fallbacks and ``/2/users/me`` overlap the private batches. :meth:`XClient.get_json` is the
public request path for any other endpoint.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from xmetrics_core.catalogue import Group
from xmetrics_core.credentials import Credential, OAuth2Credential
from xmetrics_core.defaults import X_API_BASE_URL, Timeouts
from xmetrics_core.errors import (
    InvalidResponse,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    XApiError,
)
from xmetrics_core.fetchplan import (
    TIMELINE_POST_CAP,
    Batch,
    BatchOutcome,
    FetchPlan,
    asked_groups,
    failed_batch,
    read_lookup,
    timeline_params,
)
from xmetrics_core.models import FetchResult, PostRecord, PostRef, RateLimitState
from xmetrics_core.parsing import decode_lookup, posts_from_json, result_from_pages
from xmetrics_core.references import ParsedReferences, references_from
from xmetrics_core.retry import RetryPolicy
from xmetrics_core.transport import CallTally, Transport, XApi

__all__ = [
    "ProgressCallback",
    "Timeouts",
    "XClient",
    "XUser",
    "result_from_pages",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class XUser:
    """The account behind a user-context credential (``GET /2/users/me``)."""

    id: str
    username: str
    name: str


class XClient:
    """A client for the parts of X API v2 xmetrics needs. Thread-safe; close it when done."""

    def __init__(
        self,
        *,
        credential: Credential,
        base_url: str = X_API_BASE_URL,
        timeout: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_workers: int = 4,
        on_credential_refreshed: Callable[[OAuth2Credential], None] | None = None,
        token_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
        transport: Transport | None = None,
    ) -> None:
        """``clock`` is "now" for the 30-day window, token expiry and rate-limit waits
        (tests pass the sandbox's clock); it defaults to the real UTC time. ``transport``
        sends the HTTP requests (default: :class:`~xmetrics_core.transport.RequestsTransport`)."""
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.api = XApi(
            credential=credential,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            transport=transport,
            token_url=token_url,
            on_credential_refreshed=on_credential_refreshed,
            clock=clock,
        )
        self.max_workers = max_workers
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker threads and close the transport's connections."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.api.close()

    def __enter__(self) -> XClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"XClient(base_url={self.base_url!r}, credential={self.credential.kind})"

    @property
    def base_url(self) -> str:
        return self.api.base_url

    @property
    def credential(self) -> Credential:
        """The current credential (a refreshed one after an OAuth 2.0 refresh)."""
        return self.api.credential

    @property
    def rate_limit(self) -> RateLimitState:
        """The rate-limit headers of the newest response."""
        return self.api.rate_limit

    @property
    def rate_limits(self) -> tuple[RateLimitState, ...]:
        """The newest rate-limit headers of each endpoint used (:attr:`XApi.rate_limits`)."""
        return self.api.rate_limits

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.max_workers, thread_name_prefix="xmetrics-fetch"
                )
            return self._executor

    # -- endpoints -----------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``GET`` any API path through the one request path (see
        :meth:`xmetrics_core.transport.XApi.get_json`)."""
        return self.api.get_json(path, params)

    def get_me(self) -> XUser:
        """The account behind the user-context credential (``GET /2/users/me``)."""
        return self._get_me(CallTally())

    def _get_me(self, tally: CallTally) -> XUser:
        body = self.api.get_json("/2/users/me", tally=tally)
        data = body.get("data")
        if not isinstance(data, dict) or "id" not in data:
            raise InvalidResponse("X's /2/users/me answer has no user", status_code=200)
        return XUser(
            id=str(data["id"]),
            username=str(data.get("username", "")),
            name=str(data.get("name", "")),
        )

    def recent_posts(
        self, user_id: str, *, days: int = 30, page_size: int = 100
    ) -> tuple[PostRecord, ...]:
        """The user's Posts from the last ``days`` days, newest first, every page.

        Pages through ``GET /2/users/:id/tweets`` (``page_size`` per page, 5–100;
        ``start_time`` = now − days; ``pagination_token`` = ``meta.next_token``), at most
        ``ceil(3200 / page_size) + 1`` pages (X's
        :data:`~xmetrics_core.fetchplan.TIMELINE_POST_CAP`). Records carry public metrics,
        text and created_at.
        """
        if not (user_id.isascii() and user_id.isdigit()):
            raise ValueError("user_id must be a numeric X user ID")
        if not 5 <= page_size <= 100:
            raise ValueError("page_size must be between 5 and 100 (X's max_results range)")
        start = self.api.clock() - timedelta(days=days)
        params = timeline_params(
            start_time=start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), page_size=page_size
        )
        posts: list[PostRecord] = []
        seen: set[str] = set()
        token: str | None = None
        for _ in range(math.ceil(TIMELINE_POST_CAP / page_size) + 1):
            page = params | ({"pagination_token": token} if token else {})
            body = self.api.get_json(f"/2/users/{quote(user_id)}/tweets", page)
            fresh: list[Mapping[str, Any]] = []
            for item in body.get("data") or []:
                if isinstance(item, dict) and "id" in item and str(item["id"]) not in seen:
                    seen.add(str(item["id"]))
                    fresh.append(item)
            posts.extend(posts_from_json(fresh))
            meta = body.get("meta") or {}
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not next_token or next_token == token:
                break
            token = str(next_token)
        return tuple(posts)

    def fetch_posts(
        self,
        refs_or_ids: ParsedReferences | Iterable[PostRef | str],
        *,
        groups: Iterable[Group] | None = None,
        me: XUser | None = None,
        progress: ProgressCallback | None = None,
    ) -> FetchResult:
        """Fetch every metric the credential allows for the given Posts.

        ``groups`` (default: all the credential allows) is cut to what the credential allows;
        ``public_metrics`` is always asked for. The batches, the statuses and the exact call
        count are :mod:`xmetrics_core.fetchplan`'s. User credentials asking for private groups
        also call ``/2/users/me`` once, alongside the first batches, when ``me`` is not given
        (ownership is ``author_id == me.id``). ``FetchResult.api_calls`` counts every HTTP
        request sent, retries, ``/2/users/me`` and token refreshes included.

        ``progress(done, total)`` is called on the calling thread after each batch (``total``
        grows as fallback batches are planned). A batch that fails after retries marks its IDs
        FAILED; a ``/2/users/me`` call that fails after retries does not stop the fetch:
        ownership is then unknown and Posts refused private metrics say so in their detail.
        :class:`~xmetrics_core.errors.Unauthorized` (a revoked or expired credential) is
        raised.
        """
        tally = CallTally()
        parsed = references_from(refs_or_ids)
        credential = self.credential
        plan = FetchPlan(
            parsed.refs,
            asked=asked_groups(credential.allowed_groups, groups),
            now=self.api.clock(),
        )
        pool = self._pool()
        who: Future[XUser] | None = None
        if credential.is_user_context and plan.needs_owner and me is None:
            who = pool.submit(self._get_me, tally)  # first in the queue: overlaps the batches
        running: dict[Future[BatchOutcome], Batch] = {}

        def submit(batches: list[Batch]) -> None:
            for batch in batches:
                running[pool.submit(self._run_batch, batch, tally)] = batch

        try:
            submit(plan.start())
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    del running[future]
                    submit(plan.absorb(future.result()))
                    if progress is not None:
                        progress(plan.done_batches, plan.total_batches)
            me, ownership_unknown = self._owner(who, me)
        except BaseException:
            for pending in running:
                pending.cancel()
            if who is not None:
                who.cancel()
            raise
        return plan.result(
            invalid=parsed.invalid,
            user_context=credential.is_user_context,
            me_id=me.id if me else None,
            ownership_unknown=ownership_unknown,
            rate_limit=self.rate_limit,
            api_calls=tally.calls,
            retries=tally.retries,
        )

    @staticmethod
    def _owner(who: Future[XUser] | None, me: XUser | None) -> tuple[XUser | None, str]:
        """The account (given, or from ``/2/users/me``) and, when that call failed, why
        ownership is unknown. Only a refused credential stops the fetch."""
        if who is None:
            return me, ""
        try:
            return who.result(), ""
        except (TransportError, ServerError, RateLimited, InvalidResponse) as error:
            log.warning("could not identify the account: %s", type(error).__name__)
            return None, f"ownership unknown ({error.message})"

    def _run_batch(self, batch: Batch, tally: CallTally) -> BatchOutcome:
        """One ``GET /2/tweets`` call; a failure after retries becomes FAILED statuses."""
        try:
            answer = self.api.get_decoded(
                "/2/tweets", batch.params, decode=decode_lookup, tally=tally
            )
        except Unauthorized:
            raise
        except XApiError as error:
            return failed_batch(batch, error)
        return read_lookup(batch, answer)
