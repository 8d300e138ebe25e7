"""The one request path to X: every API call, and the OAuth 2.0 refresh, goes through here.

Two layers:

* :class:`Transport` sends one HTTP request and returns the answer (:class:`HttpResponse`), or
  raises :class:`~xmetrics_core.errors.ApiTimeout` / :class:`~xmetrics_core.errors.ApiConnectionError`
  when no answer came. :class:`RequestsTransport` is the real one (a ``requests.Session`` per
  thread, the ``xmetrics/<version>`` User-Agent); tests pass their own to script answers
  without sockets.
* :class:`XApi` is X as reached with one credential: :meth:`XApi.get_json` ("GET this path
  with these params, return the JSON object") adds the auth, explicit timeouts, X's rate-limit
  headers (:attr:`XApi.rate_limit`), the one status → error mapping
  (:func:`error_from_response`) and the :class:`~xmetrics_core.retry.RetryPolicy`:

  * 429, 500, 502, 503, 504, connect errors, dropped connections and read timeouts are retried
    with jittered exponential backoff, bounded by attempts and total wait. For a 429 the wait
    is until ``x-rate-limit-reset``; if that is past the remaining budget,
    :class:`~xmetrics_core.errors.RateLimited` (with ``reset_at``) is raised at once.
  * A 2xx whose body is not a JSON object (almost always a truncated transfer) is retried like
    a 5xx, within the same bound; past it, :class:`~xmetrics_core.errors.InvalidResponse`.
  * OAuth 2.0: a token expiring within 60 s is refreshed before the request; a 401 is answered
    by one refresh and one repeat. Refreshes happen under a lock (concurrent threads refresh
    once) and hand the rotated credential to ``on_credential_refreshed``. A refused refresh, or
    a 401 after a refresh, raises :class:`~xmetrics_core.errors.Unauthorized` telling the user
    to reconnect.

  Every error from an answer carries its rate-limit headers and X's request id
  (``x-transaction-id``). JSON bodies are decoded with orjson.

URLs must be ``https`` or plain ``http`` to loopback (the sandbox):
:func:`~xmetrics_core.defaults.require_secure_url`. Nothing here sets process-wide state.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

import orjson
import requests
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from oauthlib.oauth2.rfc6749.parameters import parse_token_response, prepare_token_request
from requests.auth import AuthBase, HTTPBasicAuth
from requests.structures import CaseInsensitiveDict

from xmetrics_core.credentials import (
    BearerAuth,
    Credential,
    OAuth2Credential,
    oauth2_credential_from_token,
)
from xmetrics_core.defaults import (
    DEFAULT_TIMEOUTS,
    USER_AGENT,
    X_API_BASE_URL,
    Timeouts,
    require_secure_url,
)
from xmetrics_core.errors import (
    ApiConnectionError,
    ApiResponseError,
    ApiTimeout,
    AuthFlowError,
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
    format_reset,
)
from xmetrics_core.models import RateLimitState
from xmetrics_core.retry import RetryPolicy

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 60
REQUEST_ID_HEADERS = ("x-transaction-id", "x-request-id")
"""Where X names a request (``x-transaction-id`` in every recorded answer)."""
RECONNECT = "reconnect your X account (sign in again) to get a new token"
FORM_HEADERS: Mapping[str, str] = {"Content-Type": "application/x-www-form-urlencoded"}

JsonObject = dict[str, Any]
DecodedT = TypeVar("DecodedT")
"""What a caller's ``decode`` makes of a 2xx body (:meth:`XApi.get_decoded`)."""


# -- the HTTP layer ----------------------------------------------------------------------------


def json_object_of(body: bytes) -> JsonObject | None:
    """``body`` as a JSON object, or None when it is not one (truncated, HTML, a list)."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    """One HTTP request as the request path builds it."""

    method: str
    url: str
    params: Mapping[str, str] | None = None
    data: str | None = None
    headers: Mapping[str, str] | None = None
    auth: AuthBase | BearerAuth | None = field(default=None, repr=False)
    timeout: Timeouts = DEFAULT_TIMEOUTS

    @property
    def where(self) -> str:
        """``GET /2/tweets``: for messages (no host, no query, so no secret)."""
        return f"{self.method} {urlsplit(self.url).path}"


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    """One HTTP answer: status, headers (case-insensitive), raw body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    reason: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CaseInsensitiveDict):
            object.__setattr__(self, "headers", CaseInsensitiveDict(self.headers))

    def json_object(self) -> JsonObject | None:
        """The body as a JSON object, or None when it is not one (truncated, HTML, a list)."""
        return json_object_of(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Transport(Protocol):
    """Sends one request; the injectable layer under :class:`XApi`.

    ``send`` returns every HTTP answer (any status) and raises
    :class:`~xmetrics_core.errors.ApiTimeout` or :class:`~xmetrics_core.errors.ApiConnectionError`
    when none came. It must be safe to call from several threads at once.
    """

    def send(self, request: HttpRequest) -> HttpResponse: ...

    def close(self) -> None: ...


class RequestsTransport:
    """The real transport: a ``requests.Session`` per calling thread.

    Sessions of threads that have ended are closed when a new thread starts one, so a caller
    that uses a new thread per call (Streamlit reruns) does not pile them up.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[tuple[threading.Thread, requests.Session]] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        # Commas stay literal, as in X's docs (``ids=1,2&tweet.fields=a,b``): a 100-ID lookup's
        # ~2.5 KB query then has no ``%`` and urllib3 skips its byte-by-byte re-encoding
        # (three passes a request); OAuth 1.0a signs the decoded values either way.
        query = urlencode(request.params, safe=",") if request.params else None
        try:
            answer = self._session().request(
                request.method,
                request.url,
                params=query,
                data=request.data,
                headers=request.headers,
                auth=request.auth,
                timeout=request.timeout.as_tuple(),
                stream=True,
            )
            # The body in one read (what requests' own ``content`` does 10 KiB at a time:
            # ~20 reads, each giving the GIL away, for a 100-Post lookup); the same errors.
            body = b"".join(answer.iter_content(chunk_size=None))
        except requests.ConnectTimeout:
            raise ApiTimeout(f"connecting to X timed out ({request.where})") from None
        except requests.Timeout:
            raise ApiTimeout(f"X did not answer in time ({request.where})") from None
        except requests.RequestException:
            raise ApiConnectionError(
                f"the connection to X failed or was dropped ({request.where})"
            ) from None
        return HttpResponse(
            status=answer.status_code,
            headers=answer.headers,
            body=body,
            reason=answer.reason or "",
        )

    def session_threads(self) -> list[threading.Thread]:
        """The threads that hold an open Session (for tests and diagnostics)."""
        with self._lock:
            return [thread for thread, _ in self._sessions]

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for _, session in sessions:
            session.close()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
            with self._lock:
                ended = [s for thread, s in self._sessions if not thread.is_alive()]
                self._sessions = [(t, s) for t, s in self._sessions if t.is_alive()]
                self._sessions.append((threading.current_thread(), session))
            for stale in ended:
                stale.close()
        return session


# -- X's answers as values and errors ----------------------------------------------------------


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
    X's docs name it (IDs in the path become ``:id``); each has its own rate-limit window."""
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


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """X's id of the request (``x-transaction-id``), or None."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def error_from_response(response: HttpResponse) -> ApiResponseError:
    """The one status → error mapping. Messages come from X's title/detail and our words;
    the error carries X's problem, ``errors[]``, rate-limit headers and request id."""
    status = response.status
    body = response.json_object() or {}
    api_errors = [e for e in body.get("errors", []) if isinstance(e, dict)]
    problem = {k: v for k, v in body.items() if k != "errors"}
    title = str(body.get("title") or body.get("error") or response.reason or "error")
    detail = str(body.get("detail") or body.get("error_description") or "")
    if not detail and api_errors:
        detail = str(api_errors[0].get("message") or api_errors[0].get("detail") or "")
    message = f"X answered {status} {title}" + (f": {detail}" if detail and detail != title else "")
    kwargs: dict[str, Any] = {
        "status_code": status,
        "problem": problem,
        "api_errors": api_errors,
        "rate_limit": rate_limit_from_headers(response.headers),
        "request_id": request_id_of(response.headers),
    }
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


# -- OAuth 2.0 token endpoint --------------------------------------------------------------------


def token_request(
    transport: Transport,
    url: str,
    body: str,
    *,
    auth: AuthBase | BearerAuth | None = None,
    timeout: Timeouts = DEFAULT_TIMEOUTS,
) -> dict[str, Any]:
    """POST a form to an OAuth 2.0 token endpoint and parse X's answer with oauthlib.

    ``body`` comes from oauthlib's ``prepare_token_request``. Returns the token response.
    Raises :class:`~xmetrics_core.errors.TransportError` when no answer came, and oauthlib's
    ``OAuth2Error`` (X's ``error``/``error_description``) or ``ValueError`` when the answer is
    not a token.
    """
    request = HttpRequest(
        method="POST",
        url=require_secure_url(url),
        data=body,
        headers=FORM_HEADERS,
        auth=auth,
        timeout=timeout,
    )
    log.debug("%s (OAuth 2.0 token endpoint)", request.where)
    response = transport.send(request)
    try:
        return dict(parse_token_response(response.text))
    except OAuth2Error as exc:
        exc.status_code = response.status
        raise


def client_auth(client_id: str, client_secret: str | None) -> HTTPBasicAuth | None:
    """HTTP Basic with the client's id and secret for a confidential client, else None (a
    public client names itself with ``client_id`` in the body)."""
    return HTTPBasicAuth(client_id, client_secret) if client_secret else None


# -- the request path ----------------------------------------------------------------------------


@dataclass(kw_only=True)
class CallTally:
    """HTTP requests and retries made on behalf of one operation (thread-safe)."""

    calls: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, *, calls: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.calls += calls
            self.retries += retries


class XApi:
    """X API v2 as reached with one credential: the one request path (see the module doc).

    Thread-safe. ``clock`` is "now" for token expiry and rate-limit waits (tests pass the
    sandbox's clock). ``transport`` defaults to :class:`RequestsTransport`.
    """

    def __init__(
        self,
        *,
        credential: Credential,
        base_url: str = X_API_BASE_URL,
        timeout: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        token_url: str | None = None,
        on_credential_refreshed: Callable[[OAuth2Credential], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = require_secure_url(base_url.rstrip("/"))
        self.token_url = require_secure_url(token_url or f"{self.base_url}/2/oauth2/token")
        self.timeout = timeout or DEFAULT_TIMEOUTS
        self.retry = retry or RetryPolicy()
        self.transport: Transport = transport or RequestsTransport()
        self._on_refreshed = on_credential_refreshed
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._credential: Credential = credential
        self._credential_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._rate_limit = RateLimitState()
        self._rate_limits: dict[str, RateLimitState] = {}
        self._state_lock = threading.Lock()

    @property
    def credential(self) -> Credential:
        """The current credential (a refreshed one after an OAuth 2.0 refresh)."""
        with self._credential_lock:
            return self._credential

    @property
    def rate_limit(self) -> RateLimitState:
        """The rate-limit headers of the newest answer that carried them."""
        with self._state_lock:
            return self._rate_limit

    @property
    def rate_limits(self) -> tuple[RateLimitState, ...]:
        """The newest rate-limit headers of each endpoint answered so far (X limits each
        endpoint on its own), in the order the endpoints were first used."""
        with self._state_lock:
            return tuple(self._rate_limits.values())

    def close(self) -> None:
        self.transport.close()

    def get_json(
        self, path: str, params: Mapping[str, str] | None = None, *, tally: CallTally | None = None
    ) -> JsonObject:
        """``GET {base_url}{path}?{params}``: X's JSON object, or an
        :mod:`xmetrics_core.errors` error after the retries the policy allows.

        ``path`` starts with ``/2/``; ``tally`` (optional) counts the HTTP requests and retries
        this call made (refreshes included). The public way for every core module to call an
        endpoint: the auth, timeouts, retries, refresh and rate-limit bookkeeping come with it.
        """
        return self.request_json("GET", path, params, tally=tally)

    def get_decoded(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        decode: Callable[[bytes], DecodedT | None],
        tally: CallTally | None = None,
    ) -> DecodedT:
        """:meth:`get_json` for a caller that reads the answer's bytes itself: ``decode``
        turns a 2xx body into its value (None: not what X sends, an
        :class:`~xmetrics_core.errors.InvalidResponse`, retried like a 5xx). The lookups use it
        to decode X's JSON straight into columns (``parsing.decode_lookup``)."""
        return self._request("GET", path, params, tally=tally, decode=decode)

    def request_json(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        tally: CallTally | None = None,
    ) -> JsonObject:
        """One API request with auth, timeouts, retries and refresh; the JSON object."""
        return self._request(method, path, params, tally=tally, decode=json_object_of)

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        *,
        tally: CallTally | None,
        decode: Callable[[bytes], DecodedT | None],
    ) -> DecodedT:
        """The one request path: auth, timeouts, retries, refresh, rate limits; the 2xx
        body through ``decode``."""
        tally = tally or CallTally()
        url = f"{self.base_url}{path}"
        attempts = 0
        waited = 0.0
        refreshed = False
        while True:
            credential = self._fresh_credential(tally)
            attempts += 1
            tally.count(calls=1)
            log.debug("%s %s params=%s", method, path, sorted(params or {}))
            request = HttpRequest(
                method=method, url=url, params=params, auth=credential.auth(), timeout=self.timeout
            )
            error: XApiError
            try:
                response = self.transport.send(request)
            except TransportError as exc:
                error = exc
            else:
                self._note_rate_limit(response, endpoint=endpoint_name(method, path))
                status = response.status
                if status == 401 and isinstance(credential, OAuth2Credential):
                    if refreshed or not credential.can_refresh:
                        why = "after a refresh" if refreshed else "no refresh token"
                        raise error_from_response(response).with_message(
                            f"X refused the OAuth 2.0 token ({why}); {RECONNECT}"
                        )
                    self._refresh(credential, tally)
                    refreshed = True
                    attempts -= 1
                    continue
                if 200 <= status < 300:
                    decoded = decode(response.body)
                    if decoded is not None:
                        return decoded
                    error = InvalidResponse(
                        f"X answered {status} with a body that is not a JSON object "
                        f"({request.where})",
                        status_code=status,
                        rate_limit=rate_limit_from_headers(response.headers),
                        request_id=request_id_of(response.headers),
                    )
                else:
                    error = error_from_response(response)
                    if status == 401:
                        error = error.with_message(f"{error.message}; {RECONNECT}")
                    if not self.retry.is_retryable_status(status):
                        raise error
            wait = self._next_wait(error, attempts=attempts, waited=waited)
            if wait is None:
                if isinstance(error, RateLimited):
                    error = error.with_message(f"{error.message}; {format_reset(error.reset_at)}")
                raise error
            log.debug("retrying %s %s in %.2fs after %s", method, path, wait, type(error).__name__)
            tally.count(retries=1)
            self.retry.sleep(wait)
            waited += wait

    def _next_wait(self, error: XApiError, *, attempts: int, waited: float) -> float | None:
        until_reset = None
        if isinstance(error, RateLimited) and error.reset_at is not None:
            until_reset = (error.reset_at - self.clock()).total_seconds()
        return self.retry.next_wait(attempts_made=attempts, waited=waited, until_reset=until_reset)

    def _note_rate_limit(self, response: HttpResponse, *, endpoint: str = "") -> None:
        state = rate_limit_from_headers(response.headers)
        if state is not None:
            noted = replace(state, endpoint=endpoint)
            with self._state_lock:
                self._rate_limit = noted
                self._rate_limits[endpoint] = noted

    # -- OAuth 2.0 refresh ---------------------------------------------------------------------

    def _fresh_credential(self, tally: CallTally) -> Credential:
        credential = self.credential
        if (
            isinstance(credential, OAuth2Credential)
            and credential.can_refresh
            and credential.expires_within(REFRESH_MARGIN_SECONDS, now=self.clock())
        ):
            self._refresh(credential, tally)
            return self.credential
        return credential

    def _refresh(self, stale: OAuth2Credential, tally: CallTally) -> None:
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
            body = prepare_token_request(
                "refresh_token",
                refresh_token=current.refresh_token,
                client_id=current.client_id,
                include_client_id=not current.client_secret,
            )
            tally.count(calls=1)
            try:
                token = token_request(
                    self.transport,
                    self.token_url,
                    body,
                    auth=client_auth(current.client_id, current.client_secret),
                    timeout=self.timeout,
                )
                refreshed = oauth2_credential_from_token(
                    token,
                    client_id=current.client_id,
                    client_secret=current.client_secret,
                    now=self.clock(),
                    previous=current,
                )
            except (OAuth2Error, ValueError, AuthFlowError) as exc:
                description = getattr(exc, "description", "") or type(exc).__name__
                raise Unauthorized(
                    f"X refused to refresh the OAuth 2.0 token ({description}); {RECONNECT}",
                    status_code=getattr(exc, "status_code", None),
                ) from None
            with self._credential_lock:
                self._credential = refreshed
            if self._on_refreshed is not None:
                self._on_refreshed(refreshed)
