"""The X API v2 client: one request path, a fetch plan over ``GET /2/tweets``, the timeline.

The request path (:meth:`XClient._request`) is the only place that talks HTTP. It uses a
``requests.Session`` per thread, the credential's auth object, the ``xmetrics/<version>``
User-Agent, explicit connect/read timeouts, X's rate-limit headers, one status→error mapping
(:func:`error_from_response`) and the :class:`~xmetrics_core.retry.RetryPolicy`:

* 429, 500, 502, 503, 504, connect errors, dropped connections and read timeouts are retried
  with jittered exponential backoff, bounded by attempts and total wait. For a 429 the wait is
  until ``x-rate-limit-reset``; if that is past the remaining budget, :class:`RateLimited`
  (with ``reset_at``) is raised at once instead of sleeping.
* A 2xx whose body is not a JSON object (almost always a truncated transfer) is retried
  like a 5xx, within the same bound; past it, :class:`InvalidResponse` is raised.
* OAuth 2.0: a token expiring within 60 s is refreshed before the request; a 401 is answered by
  one refresh and one repeat. Refreshes happen under a lock (concurrent threads refresh once)
  and hand the rotated credential to ``on_credential_refreshed``. A refused refresh, or a 401
  after a refresh, raises :class:`Unauthorized` telling the user to reconnect.

The fetch plan is documented on :meth:`XClient.fetch_posts`.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib import metadata
from itertools import chain
from operator import methodcaller
from typing import Any
from urllib.parse import quote

import requests
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests_oauthlib import OAuth2Session

from xmetrics_core.catalogue import ALL_GROUPS, PRIVATE_GROUPS, Group
from xmetrics_core.credentials import (
    Credential,
    OAuth2Credential,
    permit_plain_http_to_loopback,
)
from xmetrics_core.errors import (
    ApiConnectionError,
    ApiResponseError,
    ApiTimeout,
    Forbidden,
    InvalidRequest,
    InvalidResponse,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    XApiError,
)
from xmetrics_core.models import (
    FetchResult,
    FrozenGroups,
    IdStatus,
    InvalidToken,
    MediaRecord,
    PostRecord,
    PostRef,
    PostStatus,
    RateLimitState,
)
from xmetrics_core.references import (
    ParsedReferences,
    classify_token,
    snowflake_time,
    within_private_window,
)
from xmetrics_core.retry import RetryPolicy

log = logging.getLogger(__name__)

try:
    _VERSION = metadata.version("xmetrics")
except metadata.PackageNotFoundError:
    _VERSION = "0.1.0"
USER_AGENT = f"xmetrics/{_VERSION}"

DEFAULT_BASE_URL = "https://api.x.com"
BATCH_SIZE = 100
"""``GET /2/tweets`` takes 1–100 IDs (FACTS §3)."""
REFRESH_MARGIN_SECONDS = 60
TIMELINE_POST_CAP = 3200
"""X serves at most the 3,200 newest Posts of a timeline; paging stops past that."""

POST_BASE_FIELDS = ("created_at", "author_id", "attachments")
MEDIA_BASE_FIELDS = ("media_key", "type", "duration_ms", "preview_image_url", "url")

FIELD_UNAUTHORIZED = "not-authorized-for-field"
RESOURCE_NOT_FOUND = "resource-not-found"
RESOURCE_UNAUTHORIZED = "not-authorized-for-resource"

RECONNECT = "reconnect your X account (sign in again) to get a new token"

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """Explicit connect and read timeouts in seconds for every HTTP call."""

    connect: float = 3.05
    read: float = 20.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True, kw_only=True)
class XUser:
    """The account behind a user-context credential (``GET /2/users/me``)."""

    id: str
    username: str
    name: str


@dataclass(kw_only=True)
class _Tally:
    """HTTP requests and retries made on behalf of one public call (thread-safe)."""

    calls: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, *, calls: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.calls += calls
            self.retries += retries


# -- error mapping -----------------------------------------------------------------------------


def problem_type(item: Mapping[str, Any]) -> str:
    """The last path segment of a problem ``type`` URI (host differs across sources)."""
    raw = str(item.get("type", ""))
    return raw.rstrip("/").rsplit("/", 1)[-1]


def parse_reset(value: str | None) -> datetime | None:
    """``x-rate-limit-reset`` (epoch seconds) as an aware UTC datetime."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


_PATH_ID = re.compile(r"(?<=\w)/[0-9]+(?=/|$)")  # not the leading /2 version


def endpoint_name(method: str, path: str) -> str:
    """``GET /2/users/:id/tweets`` for ``GET /2/users/2244994945/tweets``: the endpoint as
    X's docs name it (IDs in the path become ``:id``)."""
    return f"{method.upper()} {_PATH_ID.sub('/:id', path)}"


def rate_limit_from_headers(headers: Mapping[str, str]) -> RateLimitState | None:
    """X's lowercase ``x-rate-limit-*`` headers, or None when the response carried none."""
    limit, remaining = headers.get("x-rate-limit-limit"), headers.get("x-rate-limit-remaining")
    reset = headers.get("x-rate-limit-reset")
    if limit is None and remaining is None and reset is None:
        return None

    def as_int(value: str | None) -> int | None:
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    return RateLimitState(
        limit=as_int(limit), remaining=as_int(remaining), reset_at=parse_reset(reset)
    )


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def error_from_response(response: requests.Response) -> ApiResponseError:
    """The one status → error mapping. Messages come from X's title/detail and our words."""
    status = response.status_code
    body = _json_object(response) or {}
    api_errors = [e for e in body.get("errors", []) if isinstance(e, dict)]
    problem = {k: v for k, v in body.items() if k != "errors"}
    title = str(body.get("title") or body.get("error") or response.reason or "error")
    detail = str(body.get("detail") or body.get("error_description") or "")
    if not detail and api_errors:
        detail = str(api_errors[0].get("message") or api_errors[0].get("detail") or "")
    message = f"X answered {status} {title}" + (f": {detail}" if detail and detail != title else "")
    kwargs: dict[str, Any] = {"status_code": status, "problem": problem, "api_errors": api_errors}
    if status == 429:
        reset_at = parse_reset(response.headers.get("x-rate-limit-reset"))
        return RateLimited(message, reset_at=reset_at, **kwargs)
    if status >= 500:
        return ServerError(message, **kwargs)
    error_class: type[ApiResponseError] = {
        400: InvalidRequest,
        401: Unauthorized,
        402: PaymentRequired,
        403: Forbidden,
        404: NotFound,
    }.get(status, ApiResponseError)
    return error_class(message, **kwargs)


def _transport_error(exc: requests.RequestException, method: str, path: str) -> TransportError:
    where = f"{method} {path}"
    if isinstance(exc, requests.ConnectTimeout):
        return ApiTimeout(f"connecting to X timed out ({where})")
    if isinstance(exc, requests.Timeout):
        return ApiTimeout(f"X did not answer in time ({where})")
    return ApiConnectionError(f"the connection to X failed or was dropped ({where})")


def format_reset(reset_at: datetime | None) -> str:
    """``"try again after 14:05 UTC"`` for a rate-limit reset time."""
    if reset_at is None:
        return "try again in a few minutes"
    return f"try again after {reset_at.astimezone(UTC):%H:%M} UTC"


# -- parsing X's objects -----------------------------------------------------------------------


def parse_created_at(value: object) -> datetime | None:
    """X's ``2022-08-13T20:36:51.000Z`` as an aware datetime in UTC (None when absent/garbled)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


_GROUP_KEYS: tuple[str, ...] = tuple(g.value for g in ALL_GROUPS)
_COUNT_TYPES = frozenset({int, type(None)})

GroupColumn = list[dict[str, Any] | None]


def _group_column(items: Sequence[Mapping[str, Any]], key: str) -> GroupColumn:
    """A copy of each item's ``key`` group (a JSON object), None where it has none."""
    return [dict(v) if isinstance(v, dict) else None for v in map(methodcaller("get", key), items)]


def _counts_only(columns: Iterable[GroupColumn]) -> bool:
    """True when every value in every group is an int or null: one C-level pass over all of
    them (``map``/``set``), no Python per value."""
    groups: Iterable[dict[str, Any]] = filter(None, chain.from_iterable(columns))
    values: Iterable[Any] = chain.from_iterable(map(dict.values, groups))
    return set(map(type, values)) <= _COUNT_TYPES


def _as_counts(values: dict[str, Any] | None) -> dict[str, int | None] | None:
    """Each value kept if it is an int, else None (X sends counts; anything else is garbled)."""
    if values is None:
        return None
    return {str(k): (v if isinstance(v, int) else None) for k, v in values.items()}


def _checked_groups(items: Sequence[Mapping[str, Any]]) -> list[FrozenGroups]:
    """Every item's metric groups, copied once, group by group, and frozen; the values are
    checked in bulk, with per-value repair only for a page carrying something else than
    counts and nulls."""
    columns = [_group_column(items, key) for key in _GROUP_KEYS]
    if not _counts_only(columns):
        columns = [list(map(_as_counts, column)) for column in columns]
    public, non_public, organic, promoted = columns  # the catalogue's group order
    rows = zip(public, non_public, organic, promoted, strict=True)
    return list(map(FrozenGroups.of_catalogue_groups, rows))  # nothing else holds the copies


def _post_record(item: Mapping[str, Any], metrics: FrozenGroups) -> PostRecord:
    post_id = item["id"]
    text = item.get("text", "")
    author_id = item.get("author_id")
    attachments = item.get("attachments")
    keys = attachments.get("media_keys") if type(attachments) is dict else None
    return PostRecord(
        id=post_id if type(post_id) is str else str(post_id),
        text=text if type(text) is str else str(text),
        author_id=None if author_id is None else str(author_id),
        created_at=parse_created_at(item.get("created_at")),
        media_keys=tuple(map(str, keys)) if type(keys) is list else (),
        metrics=metrics,
    )


def posts_from_json(items: Sequence[Mapping[str, Any]]) -> list[PostRecord]:
    """``data[]`` Tweet objects as :class:`PostRecord` values, in order.

    Each object needs an ``id``. Metric groups are X's verbatim: a sub-key X left out stays
    absent; a value that is not an int (or null) becomes None.
    """
    return list(map(_post_record, items, _checked_groups(items)))


def post_from_json(item: Mapping[str, Any]) -> PostRecord:
    """One ``data[]`` Tweet object as a :class:`PostRecord` (see :func:`posts_from_json`)."""
    return posts_from_json([item])[0]


_MEDIA_FIELDS = ("type", "duration_ms", "preview_image_url", "url")


def _merged_media_json(media_json: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """media_key → one media object: the first one seen, or, for a key X sent more than once
    (one copy per batch), the union: later non-null fields win and metric groups merge."""
    merged: dict[str, Mapping[str, Any]] = {}
    for raw in media_json:
        key = raw.get("media_key")
        if not isinstance(key, str):
            continue
        seen = merged.get(key)
        if seen is None:
            merged[key] = raw
            continue
        union: dict[str, Any] = {**seen}
        union.update({name: raw[name] for name in _MEDIA_FIELDS if raw.get(name) is not None})
        for group in _GROUP_KEYS:
            values = raw.get(group)
            if isinstance(values, dict):
                earlier = seen.get(group)
                union[group] = {**(earlier if isinstance(earlier, dict) else {}), **values}
        merged[key] = union
    return merged


def _media_record(
    key: str, raw: Mapping[str, Any], post_ids: tuple[str, ...], metrics: FrozenGroups
) -> MediaRecord:
    kind = raw.get("type")
    duration = raw.get("duration_ms")
    return MediaRecord(
        media_key=key,
        type="" if kind is None else str(kind),
        duration_ms=duration if type(duration) is int else None,
        preview_image_url=raw.get("preview_image_url"),
        url=raw.get("url"),
        post_ids=post_ids,
        metrics=metrics,
    )


def merge_media(
    media_json: Iterable[Mapping[str, Any]], posts: Sequence[PostRecord]
) -> tuple[MediaRecord, ...]:
    """``includes.media`` objects (of every page) as one :class:`MediaRecord` per ``media_key``.

    A key sent more than once is merged (later non-null fields win, metric groups are
    united). ``post_ids`` lists every given Post that carries the key, in ``posts`` order.
    Order: keys as the Posts name them, then keys no Post names, as first seen.
    """
    return _media_records(_merged_media_json(media_json), posts)


def _media_records(
    merged: Mapping[str, Mapping[str, Any]], posts: Sequence[PostRecord]
) -> tuple[MediaRecord, ...]:
    carriers: dict[str, list[str]] = {}
    for post in posts:
        for key in post.media_keys:
            carriers.setdefault(key, []).append(post.id)
    ordered = [key for key in dict.fromkeys([*carriers, *merged]) if key in merged]
    raws = [merged[key] for key in ordered]
    post_ids = [tuple(carriers.get(key, ())) for key in ordered]
    return tuple(map(_media_record, ordered, raws, post_ids, _checked_groups(raws)))


def result_from_pages(
    pages: Iterable[Mapping[str, Any]], *, groups: Sequence[Group] = ()
) -> FetchResult:
    """Raw ``GET /2/tweets`` answers (``data[]`` + ``includes.media``) as a
    :class:`FetchResult`: every Post with status OK (``source`` its ID, ``position`` its
    index), media merged across pages by :func:`merge_media`, ``groups`` as given.

    For Posts already fetched (recordings, other tools' dumps, benchmarks): no HTTP, no
    plan, no ownership checks; items that are not objects with an ``id`` are skipped.
    """
    items: list[Mapping[str, Any]] = []
    media_json: list[Mapping[str, Any]] = []
    for page in pages:
        items.extend(i for i in page.get("data") or () if isinstance(i, dict) and "id" in i)
        includes = page.get("includes")
        if isinstance(includes, dict):
            media_json.extend(m for m in includes.get("media") or () if isinstance(m, dict))
    posts = tuple(posts_from_json(items))
    statuses = tuple(
        IdStatus(id=post.id, status=PostStatus.OK, source=post.id, position=n)
        for n, post in enumerate(posts)
    )
    return FetchResult(
        posts=posts,
        media=merge_media(media_json, posts),
        statuses=statuses,
        groups=tuple(groups),
    )


def _fields_param(base: Sequence[str], groups: Iterable[Group]) -> str:
    return ",".join([*base, *(g.value for g in groups)])


def lookup_params(ids: Sequence[str], groups: Sequence[Group]) -> dict[str, str]:
    """The query of one ``GET /2/tweets`` batch asking for ``groups``."""
    return {
        "ids": ",".join(ids),
        "tweet.fields": _fields_param(POST_BASE_FIELDS, groups),
        "expansions": "attachments.media_keys",
        "media.fields": _fields_param(MEDIA_BASE_FIELDS, groups),
    }


# -- the fetch plan's bookkeeping --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Batch:
    ids: tuple[str, ...]
    groups: tuple[Group, ...]


@dataclass(kw_only=True)
class _BatchOutcome:
    batch: _Batch
    posts: list[PostRecord] = field(default_factory=list)
    media: list[Mapping[str, Any]] = field(default_factory=list)
    field_refused: dict[str, str] = field(default_factory=dict)
    """ID → X's detail, for IDs that came back only as Field Authorization Errors."""
    final: dict[str, IdStatus] = field(default_factory=dict)
    """ID → a final status without metrics (not found, not authorized, failed)."""
    empty: list[str] = field(default_factory=list)
    """IDs that came back with neither data nor an error."""


PUBLIC_ONLY: tuple[Group, ...] = (Group.PUBLIC,)
NO_ANSWER = "X returned neither the Post nor an error"


@dataclass(kw_only=True)
class _FetchState:
    """What one ``fetch_posts`` call has learnt so far (touched on the calling thread only)."""

    order: dict[str, int]
    """ID → index in the paste, to keep every pass in paste order."""
    records: dict[str, PostRecord] = field(default_factory=dict)
    statuses: dict[str, IdStatus] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    media: list[Mapping[str, Any]] = field(default_factory=list)
    done_batches: int = 0
    total_batches: int = 0

    def absorb(self, outcome: _BatchOutcome) -> None:
        """Keep a batch's Posts, final statuses, media and Field Authorization refusals."""
        for post in outcome.posts:
            self.records[post.id] = post
            self.statuses.pop(post.id, None)
        self.statuses.update(outcome.final)
        self.media.extend(outcome.media)
        self.refusals.update(outcome.field_refused)

    def unanswered(self, ids: Iterable[str]) -> None:
        """IDs X answered with neither data nor an error, even public-only: FAILED."""
        for post_id in ids:
            self.statuses[post_id] = IdStatus(
                id=post_id, status=PostStatus.FAILED, detail=NO_ANSWER
            )

    def in_paste_order(self, ids: Iterable[str]) -> list[str]:
        return sorted(set(ids), key=self.order.__getitem__)


def _ordered_groups(groups: Iterable[Group]) -> tuple[Group, ...]:
    wanted = set(groups)
    return tuple(g for g in ALL_GROUPS if g in wanted)


def _batches(ids: Sequence[str], groups: tuple[Group, ...]) -> list[_Batch]:
    return [
        _Batch(ids=tuple(ids[i : i + BATCH_SIZE]), groups=groups)
        for i in range(0, len(ids), BATCH_SIZE)
    ]


class XClient:
    """A client for the parts of X API v2 xmetrics needs. Thread-safe; close it when done."""

    def __init__(
        self,
        *,
        credential: Credential,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_workers: int = 4,
        on_credential_refreshed: Callable[[OAuth2Credential], None] | None = None,
        token_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``clock`` is "now" for the 30-day window, token expiry and rate-limit waits
        (tests pass the sandbox's clock); it defaults to the real UTC time."""
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.base_url = base_url.rstrip("/")
        permit_plain_http_to_loopback(self.base_url)
        self.token_url = token_url or f"{self.base_url}/2/oauth2/token"
        permit_plain_http_to_loopback(self.token_url)
        self.timeout = timeout or Timeouts()
        self.retry = retry or RetryPolicy()
        self.max_workers = max_workers
        self._on_refreshed = on_credential_refreshed
        self._clock = clock or (lambda: datetime.now(UTC))
        self._credential: Credential = credential
        self._credential_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._rate_limit = RateLimitState()
        self._state_lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[tuple[threading.Thread, requests.Session]] = []
        self._executor: ThreadPoolExecutor | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker threads and close every Session."""
        with self._state_lock:
            executor, self._executor = self._executor, None
            sessions, self._sessions = self._sessions, []
        if executor is not None:
            executor.shutdown(wait=True)
        for _, session in sessions:
            session.close()

    def __enter__(self) -> XClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"XClient(base_url={self.base_url!r}, credential={self.credential.kind})"

    @property
    def credential(self) -> Credential:
        """The current credential (a refreshed one after an OAuth 2.0 refresh)."""
        with self._credential_lock:
            return self._credential

    @property
    def rate_limit(self) -> RateLimitState:
        """The rate-limit headers of the newest response."""
        with self._state_lock:
            return self._rate_limit

    def _session(self) -> requests.Session:
        """This thread's Session. Sessions of threads that have ended are closed here, so a
        caller that uses a new thread per call (Streamlit reruns) does not pile them up."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
            with self._state_lock:
                ended = [s for thread, s in self._sessions if not thread.is_alive()]
                self._sessions = [(t, s) for t, s in self._sessions if t.is_alive()]
                self._sessions.append((threading.current_thread(), session))
            for stale in ended:
                stale.close()
        return session

    def _pool(self) -> ThreadPoolExecutor:
        with self._state_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.max_workers, thread_name_prefix="xmetrics-fetch"
                )
            return self._executor

    # -- the request path ----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        tally: _Tally | None = None,
    ) -> dict[str, Any]:
        """Send one API request with auth, timeouts, retries and refresh; the JSON object.

        Raises the :mod:`xmetrics_core.errors` hierarchy.
        """
        tally = tally or _Tally()
        url = f"{self.base_url}{path}"
        attempts = 0
        waited = 0.0
        refreshed = False
        while True:
            credential = self._fresh_credential(tally)
            attempts += 1
            tally.count(calls=1)
            log.debug("%s %s params=%s", method, path, sorted(params or {}))
            error: XApiError
            try:
                response = self._session().request(
                    method,
                    url,
                    params=params,
                    auth=credential.auth(),
                    timeout=self.timeout.as_tuple(),
                )
            except requests.RequestException as exc:
                error = _transport_error(exc, method, path)
            else:
                self._note_rate_limit(response, endpoint=endpoint_name(method, path))
                status = response.status_code
                if status == 401 and isinstance(credential, OAuth2Credential):
                    if refreshed or not credential.can_refresh:
                        raise Unauthorized(
                            f"X refused the OAuth 2.0 token ({'after a refresh' if refreshed else 'no refresh token'}); {RECONNECT}",
                            status_code=401,
                            problem=_json_object(response) or {},
                        )
                    self._refresh(credential, tally)
                    refreshed = True
                    attempts -= 1
                    continue
                if 200 <= status < 300:
                    body = _json_object(response)
                    if body is not None:
                        return body
                    error = InvalidResponse(
                        f"X answered {status} with a body that is not a JSON object ({method} {path})",
                        status_code=status,
                    )
                else:
                    error = error_from_response(response)
                    if status == 401:
                        error = Unauthorized(
                            f"{error.message}; {RECONNECT}",
                            status_code=401,
                            problem=error.problem,
                            api_errors=error.api_errors,
                        )
                    if not self.retry.is_retryable_status(status):
                        raise error
            until_reset = None
            if isinstance(error, RateLimited) and error.reset_at is not None:
                until_reset = (error.reset_at - self._clock()).total_seconds()
            wait = self.retry.next_wait(
                attempts_made=attempts, waited=waited, until_reset=until_reset
            )
            if wait is None:
                if isinstance(error, RateLimited):
                    error = RateLimited(
                        f"{error.message}; {format_reset(error.reset_at)}",
                        reset_at=error.reset_at,
                        status_code=error.status_code,
                        problem=error.problem,
                        api_errors=error.api_errors,
                    )
                raise error
            log.debug("retrying %s %s in %.2fs after %s", method, path, wait, type(error).__name__)
            tally.count(retries=1)
            self.retry.sleep(wait)
            waited += wait

    def _note_rate_limit(self, response: requests.Response, *, endpoint: str = "") -> None:
        state = rate_limit_from_headers(response.headers)
        if state is not None:
            with self._state_lock:
                self._rate_limit = replace(state, endpoint=endpoint)

    # -- OAuth 2.0 refresh ---------------------------------------------------------------------

    def _fresh_credential(self, tally: _Tally) -> Credential:
        credential = self.credential
        if (
            isinstance(credential, OAuth2Credential)
            and credential.can_refresh
            and credential.expires_within(REFRESH_MARGIN_SECONDS, now=self._clock())
        ):
            self._refresh(credential, tally)
            return self.credential
        return credential

    def _refresh(self, stale: OAuth2Credential, tally: _Tally) -> None:
        """Refresh once for all threads: a thread that waited on the lock reuses the result."""
        with self._refresh_lock:
            current = self.credential
            if (
                not isinstance(current, OAuth2Credential)
                or current.access_token != stale.access_token
            ):
                return
            if not current.can_refresh or current.client_id is None:
                raise Unauthorized(f"the OAuth 2.0 token cannot be refreshed; {RECONNECT}")
            oauth = OAuth2Session(client_id=current.client_id)
            auth = (
                requests.auth.HTTPBasicAuth(current.client_id, current.client_secret)
                if current.client_secret
                else None
            )
            extra = {} if current.client_secret else {"client_id": current.client_id}
            tally.count(calls=1)
            log.debug("POST %s (OAuth 2.0 refresh)", self.token_url.removeprefix(self.base_url))
            try:
                token = oauth.refresh_token(
                    self.token_url,
                    refresh_token=current.refresh_token,
                    auth=auth,
                    timeout=self.timeout.as_tuple(),
                    **extra,
                )
            except requests.RequestException as exc:
                raise _transport_error(exc, "POST", "/2/oauth2/token") from None
            except (OAuth2Error, ValueError) as exc:
                description = getattr(exc, "description", "") or type(exc).__name__
                raise Unauthorized(
                    f"X refused to refresh the OAuth 2.0 token ({description}); {RECONNECT}",
                    status_code=getattr(exc, "status_code", None),
                ) from None
            finally:
                oauth.close()
            expires_in = token.get("expires_in")
            scope = token.get("scope") or current.scope
            refreshed = OAuth2Credential(
                access_token=str(token["access_token"]),
                refresh_token=str(token.get("refresh_token") or current.refresh_token),
                expires_at=self._clock() + timedelta(seconds=float(expires_in))
                if expires_in is not None
                else None,
                client_id=current.client_id,
                client_secret=current.client_secret,
                scope=tuple(scope.split() if isinstance(scope, str) else scope),
            )
            with self._credential_lock:
                self._credential = refreshed
            if self._on_refreshed is not None:
                self._on_refreshed(refreshed)

    # -- endpoints -----------------------------------------------------------------------------

    def get_me(self) -> XUser:
        """The account behind the user-context credential (``GET /2/users/me``)."""
        return self._get_me(_Tally())

    def recent_posts(
        self, user_id: str, *, days: int = 30, page_size: int = 100
    ) -> tuple[PostRecord, ...]:
        """The user's Posts from the last ``days`` days, newest first, every page.

        Pages through ``GET /2/users/:id/tweets`` (``page_size`` per page, 5–100;
        ``start_time`` = now − days; ``pagination_token`` = ``meta.next_token``), at most
        ``ceil(3200 / page_size) + 1`` pages (X's :data:`TIMELINE_POST_CAP`). Records carry public metrics, text and created_at.
        """
        if not (user_id.isascii() and user_id.isdigit()):
            raise ValueError("user_id must be a numeric X user ID")
        if not 5 <= page_size <= 100:
            raise ValueError("page_size must be between 5 and 100 (X's max_results range)")
        start = self._clock() - timedelta(days=days)
        params = {
            "max_results": str(page_size),
            "start_time": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tweet.fields": _fields_param(POST_BASE_FIELDS, (Group.PUBLIC,)),
        }
        posts: list[PostRecord] = []
        seen: set[str] = set()
        token: str | None = None
        for _ in range(math.ceil(TIMELINE_POST_CAP / page_size) + 1):
            page = dict(params) | ({"pagination_token": token} if token else {})
            body = self._request("GET", f"/2/users/{quote(user_id)}/tweets", page)
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

        **Groups.** ``groups`` (default: all the credential allows) is cut to what the
        credential allows; ``public_metrics`` is always asked for (it is every Post's
        fallback).

        **Plan.** Let *R* be the IDs that may have private metrics (user context, private
        groups asked, created within 30 days by the snowflake), *O* the rest.

        * Pass 1, concurrently (``max_workers``): *R* in batches of ≤100 asking every group;
          *O* in full public-only batches of 100. The last partial batch of *O* waits for
          pass 2 so it can share a batch with the fallbacks.
        * Pass 2: a public-only pass, in batches of ≤100, for the rest of *O* plus every Post
          that came back only as Field Authorization Errors (*F*), so each still gets its
          public metrics. Posts that came back with neither data nor an error (X's
          "never-promoted Post" known issue) are re-asked without ``promoted_metrics`` in
          their own batches (*E*); if that is refused too they get one public-only pass 3.
          A public-only answer with neither data nor an error marks the Post FAILED.

        Without retries the ``GET /2/tweets`` calls number exactly
        ``ceil(R/100) + ceil((O + F)/100) + ceil(E/100)`` (+ pass 3), which is
        at most ``ceil(N/100) + 1`` for N unique IDs when E = 0. (E > 0 only when X answers
        a never-promoted Post with nothing at all, the documented known issue; when X just
        leaves the promoted group out, as the sandbox does by default, E = 0.) User
        credentials asking for private groups also call ``/2/users/me`` once when ``me`` is
        not given (ownership is ``author_id == me.id``). ``FetchResult.api_calls`` counts
        every HTTP request sent, retries, ``/2/users/me`` and token refreshes included.

        **Result.** One :class:`IdStatus` per unique valid ID in input order, then one INVALID
        status per invalid token; records in input order; media merged by ``media_key``.
        ``progress(done, total)`` is called on the calling thread after each batch (``total``
        grows when pass 2 is planned). A batch that fails after retries marks its IDs FAILED;
        a ``/2/users/me`` call that fails after retries does not stop the fetch: ownership is
        then unknown and Posts refused private metrics say so in their detail;
        :class:`Unauthorized` (a revoked or expired credential) is raised.
        """
        tally = _Tally()
        refs, invalid = self._normalise(refs_or_ids)
        credential = self.credential
        allowed = set(credential.allowed_groups)
        wanted = set(ALL_GROUPS if groups is None else groups)
        asked = _ordered_groups((wanted & allowed) | {Group.PUBLIC})
        private = tuple(g for g in asked if g in PRIVATE_GROUPS)
        ownership_unknown = ""
        if credential.is_user_context and private and me is None and refs:
            try:
                me = self._get_me(tally)
            except (TransportError, ServerError, RateLimited, InvalidResponse) as error:
                # Ownership only refines the reason a Post is public-only; the fetch goes on.
                log.warning("could not identify the account: %s", type(error).__name__)
                ownership_unknown = f"ownership unknown ({error.message})"
        now = self._clock()

        recent = [r.id for r in refs if private and within_private_window(r.created_at, now)]
        recent_set = set(recent)
        older = [r.id for r in refs if r.id not in recent_set]
        full = len(older) - len(older) % BATCH_SIZE
        state = _FetchState(order={ref.id: n for n, ref in enumerate(refs)})

        # pass 1: private-eligible IDs with every group; full public-only batches of the rest
        first = self._run_pass(
            _batches(recent, asked) + _batches(older[:full], PUBLIC_ONLY), state, tally, progress
        )
        fallback, without_promoted = list(older[full:]), []
        for outcome in first:
            fallback.extend(outcome.field_refused)
            if Group.PROMOTED in outcome.batch.groups:
                without_promoted.extend(outcome.empty)
            else:
                state.unanswered(outcome.empty)
        # pass 2: one public-only pass (+ the never-promoted known issue without promoted)
        reduced = tuple(g for g in asked if g is not Group.PROMOTED)
        second = self._run_pass(
            _batches(state.in_paste_order(fallback), PUBLIC_ONLY)
            + _batches(without_promoted, reduced),
            state,
            tally,
            progress,
        )
        last_resort: list[str] = []
        for outcome in second:
            if outcome.batch.groups == PUBLIC_ONLY:
                state.unanswered(outcome.empty)
            else:
                last_resort.extend([*outcome.field_refused, *outcome.empty])
        # pass 3 (only after a refused or empty pass 2 without promoted): public only
        for outcome in self._run_pass(_batches(last_resort, PUBLIC_ONLY), state, tally, progress):
            state.unanswered(outcome.empty)

        posts: list[PostRecord] = []
        statuses: list[IdStatus] = []
        for ref in refs:
            record = state.records.get(ref.id)
            if record is None:
                final = state.statuses.get(ref.id) or IdStatus(
                    id=ref.id, status=PostStatus.FAILED, detail="no answer from X for this Post"
                )
                status, detail = final.status, final.detail
            else:
                posts.append(record)
                status, detail = self._status_of(
                    record, ref, asked=asked, me=me, now=now, refusal=state.refusals.get(ref.id)
                )
                if ownership_unknown and status is PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED:
                    detail = f"{detail}; {ownership_unknown}"
            statuses.append(
                IdStatus(
                    id=ref.id,
                    status=status,
                    detail=detail,
                    source=ref.source,
                    position=ref.position,
                )
            )
        statuses.extend(
            IdStatus(
                id=bad.text,
                status=PostStatus.INVALID,
                detail=bad.reason,
                source=bad.text,
                position=bad.position,
            )
            for bad in invalid
        )
        return FetchResult(
            posts=tuple(posts),
            media=merge_media(state.media, posts),
            statuses=tuple(statuses),
            groups=asked,
            rate_limit=self.rate_limit,
            api_calls=tally.calls,
            retries=tally.retries,
            fetched_at=now,
        )

    def _run_pass(
        self,
        batches: list[_Batch],
        state: _FetchState,
        tally: _Tally,
        progress: ProgressCallback | None,
    ) -> list[_BatchOutcome]:
        """Run one pass's batches on the pool; absorb and report progress on this thread."""
        state.total_batches += len(batches)
        if not batches:
            return []
        pool = self._pool()
        futures: list[Future[_BatchOutcome]] = [
            pool.submit(self._run_batch, batch, tally) for batch in batches
        ]
        outcomes: list[_BatchOutcome] = []
        try:
            for future in as_completed(futures):
                outcome = future.result()
                state.absorb(outcome)
                outcomes.append(outcome)
                state.done_batches += 1
                if progress is not None:
                    progress(state.done_batches, state.total_batches)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return outcomes

    # -- fetch helpers -------------------------------------------------------------------------

    def _get_me(self, tally: _Tally) -> XUser:
        body = self._request("GET", "/2/users/me", tally=tally)
        data = body.get("data")
        if not isinstance(data, dict) or "id" not in data:
            raise InvalidResponse("X's /2/users/me answer has no user", status_code=200)
        return XUser(
            id=str(data["id"]),
            username=str(data.get("username", "")),
            name=str(data.get("name", "")),
        )

    @staticmethod
    def _normalise(
        refs_or_ids: ParsedReferences | Iterable[PostRef | str],
    ) -> tuple[list[PostRef], list[InvalidToken]]:
        if isinstance(refs_or_ids, ParsedReferences):
            return list(refs_or_ids.refs), list(refs_or_ids.invalid)
        refs: dict[str, PostRef] = {}
        invalid: list[InvalidToken] = []
        for position, item in enumerate(refs_or_ids):
            if isinstance(item, PostRef):
                refs.setdefault(item.id, item)
                continue
            token = str(item).strip()
            post_id, reason = classify_token(token)
            if post_id is None:
                invalid.append(
                    InvalidToken(
                        text=token, position=position, offset=-1, reason=reason or "invalid"
                    )
                )
            elif post_id not in refs:
                refs[post_id] = PostRef(
                    id=post_id, source=token, position=position, created_at=snowflake_time(post_id)
                )
        return list(refs.values()), invalid

    def _run_batch(self, batch: _Batch, tally: _Tally) -> _BatchOutcome:
        """One ``GET /2/tweets`` call; a failure after retries becomes FAILED statuses."""
        outcome = _BatchOutcome(batch=batch)
        try:
            body = self._request(
                "GET", "/2/tweets", lookup_params(batch.ids, batch.groups), tally=tally
            )
        except Unauthorized:
            raise
        except XApiError as exc:
            if isinstance(exc, RateLimited):
                detail = f"rate limited by X; {format_reset(exc.reset_at)}"
            elif isinstance(exc, PaymentRequired):
                detail = (
                    f"{exc.message.rstrip('.')}; add credits to the X developer account "
                    "(developer portal), then fetch again"
                )
            else:
                detail = exc.message
            outcome.final = {
                i: IdStatus(id=i, status=PostStatus.FAILED, detail=detail) for i in batch.ids
            }
            return outcome
        asked = set(batch.ids)
        answered: set[str] = set()
        items = [
            item
            for item in body.get("data") or []
            if isinstance(item, dict) and str(item.get("id")) in asked
        ]
        outcome.posts.extend(posts_from_json(items))
        answered.update(post.id for post in outcome.posts)
        includes = body.get("includes") or {}
        if isinstance(includes, dict):
            outcome.media = [m for m in includes.get("media") or [] if isinstance(m, dict)]
        for error in body.get("errors") or []:
            if not isinstance(error, dict) or error.get("section", "data") != "data":
                continue
            post_id = str(error.get("resource_id") or error.get("value") or "")
            if post_id not in asked or post_id in answered:
                continue
            kind = problem_type(error)
            detail = str(error.get("detail") or error.get("title") or kind)
            if kind == FIELD_UNAUTHORIZED:
                outcome.field_refused.setdefault(post_id, detail)
            elif kind == RESOURCE_NOT_FOUND:
                outcome.final[post_id] = IdStatus(
                    id=post_id, status=PostStatus.NOT_FOUND, detail=detail
                )
            elif kind == RESOURCE_UNAUTHORIZED:
                outcome.final[post_id] = IdStatus(
                    id=post_id, status=PostStatus.NOT_AUTHORIZED, detail=detail
                )
            else:
                outcome.final.setdefault(
                    post_id, IdStatus(id=post_id, status=PostStatus.FAILED, detail=detail)
                )
        for post_id in batch.ids:
            if post_id in answered:
                outcome.final.pop(post_id, None)
                outcome.field_refused.pop(post_id, None)
            elif post_id in outcome.final:
                outcome.field_refused.pop(post_id, None)
            elif post_id not in outcome.field_refused:
                outcome.empty.append(post_id)
        return outcome

    def _status_of(
        self,
        record: PostRecord,
        ref: PostRef,
        *,
        asked: tuple[Group, ...],
        me: XUser | None,
        now: datetime,
        refusal: str | None,
    ) -> tuple[PostStatus, str]:
        credential = self.credential
        private_asked = [g for g in asked if g in PRIVATE_GROUPS]
        if not credential.is_user_context:
            return PostStatus.PUBLIC_ONLY_APP_ONLY, "app-only Bearer token: public metrics only"
        if not private_asked:
            return PostStatus.OK, ""
        got = [g for g in private_asked if g.value in record.metrics]
        if got:
            missing = [g for g in private_asked if g not in got]
            if missing == [Group.PROMOTED]:
                return PostStatus.NOT_PROMOTED, "never promoted: no promoted metrics"
            if missing:
                return PostStatus.OK, "X did not return " + ", ".join(g.value for g in missing)
            return PostStatus.OK, ""
        if me is not None and record.author_id is not None and record.author_id != me.id:
            return PostStatus.PUBLIC_ONLY_NOT_OWNER, "not your Post: X serves public metrics only"
        created = record.created_at or ref.created_at
        if created is None or not within_private_window(created, now):
            return (
                PostStatus.PUBLIC_ONLY_TOO_OLD,
                "older than 30 days: X serves public metrics only",
            )
        return PostStatus.PUBLIC_ONLY_NOT_AUTHORIZED, refusal or "X refused the private metrics"


def batch_count(n: int) -> int:
    """How many ``GET /2/tweets`` calls ``n`` IDs need."""
    return math.ceil(n / BATCH_SIZE)
