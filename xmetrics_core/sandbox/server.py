"""The sandbox's HTTP server: werkzeug routing on a daemon thread, and :func:`start_sandbox`.

``start_sandbox()`` builds the seeded world, binds werkzeug's threaded server on 127.0.0.1 (an
ephemeral port by default; a thread per connection, kept alive like X's: see
:class:`_KeepAliveHandler`) and serves it on a daemon thread until :meth:`Sandbox.stop`.
Paths are api.x.com's, so only the base URL differs:

==================================  ==========================================================
``GET /2/tweets``                   lookup 1–100 IDs                      (api.py)
``GET /2/tweets/:id``               one Post
``GET /2/users/me``                 the signed-in user (user context only: app-only is 403)
``GET /2/users/:id/tweets``         a user's timeline, paged
``GET /2/tweets/analytics``         Post analytics buckets (Enterprise)   (analytics.py)
``GET /2/media/analytics``          media analytics buckets (Enterprise)
``GET /2/usage/tweets``             Posts billed per day (app-only)       (usage.py)
``POST /oauth2/token``              app-only Bearer (client_credentials, Basic auth)
``POST /oauth/request_token``       OAuth 1.0a                            (oauth1.py)
``GET|POST /oauth/authorize``       OAuth 1.0a authorize page
``POST /oauth/access_token``        OAuth 1.0a
``GET|POST /i/oauth2/authorize``    OAuth 2.0 consent page                (oauth2.py, pages.py)
``POST /2/oauth2/token``            code exchange and refresh
``POST /2/oauth2/revoke``           revocation
``GET /media/preview/:key.svg``     a video's or GIF's preview image      (previews.py)
``GET /sandbox/world``              not X's: clock, seed, settings (app Bearer)
``GET /sandbox/exports``            not X's: the Demo's CSV exports (app Bearer)
==================================  ==========================================================

Routing is a werkzeug ``Map`` (unknown paths 404, wrong methods 405, ``about:blank`` bodies).
Order of checks on a v2 call: fault injection first (dropped connection, slow response;
faults.py — the OAuth endpoints are never faulted; injected latency is the least time from a
request's arrival to its answer, the answer being worked out within it), authentication (401
``about:blank``), a
scripted or seeded 429/500/503, endpoint auth kind (403 ``unsupported-authentication``), OAuth
2.0 scopes (403 ``Forbidden``), the tier (403 ``client-forbidden`` for the analytics endpoints on
pay-per-use), rate limit (429, ratelimit.py), credits (402), the monthly project cap on Post
reads (429 ``usage-capped``), then validation (400) and the body (which a ``malformed`` fault
truncates). Posts served by lookups and timelines are billed once per UTC day (usage.py) and
each billed Post costs a credit. Everything is rendered at the clock's world time
(``clock.now()``). Every v2 response carries lowercase
``x-rate-limit-*``, ``api-version`` and ``x-access-level`` headers. Every request is recorded in
the request log with secrets redacted; werkzeug's own access log is silenced because URLs can
carry request tokens. The preview images stand in for X's media host (``pbs.twimg.com``):
no auth, no faults, no rate limit, like the OAuth endpoints. The two ``/sandbox/`` endpoints
are the sandbox's own (X has no such paths): what team replicas ask of the shared Demo sandbox
(``remote.RemoteSandbox``), with the app's Bearer token, never faulted, rate-limited or billed.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import struct
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from io import BufferedIOBase
from typing import IO, Any, cast
from urllib.parse import unquote, urlencode

import orjson
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import LimitedStream

from xmetrics_core.sandbox import pages, problems
from xmetrics_core.sandbox.accounts import (
    DEFAULT_REDIRECT_URIS,
    DemoCredentials,
    SandboxAccount,
    app_credentials,
    sandbox_accounts,
)
from xmetrics_core.sandbox.analytics import AnalyticsRenderer
from xmetrics_core.sandbox.api import ApiAnswer, ApiRenderer, Caller
from xmetrics_core.sandbox.faults import Fault, FaultDecision, FaultInjector
from xmetrics_core.sandbox.oauth1 import SandboxOAuth1, SandboxValidator
from xmetrics_core.sandbox.oauth2 import AuthorizeError, SandboxOAuth2
from xmetrics_core.sandbox.previews import (
    SVG_CONTENT_TYPE,
    SVG_SECURITY_HEADERS,
    has_preview,
    preview_image_svg,
)
from xmetrics_core.sandbox.ratelimit import RateLimiter
from xmetrics_core.sandbox.requestlog import LoggedRequest, RequestLog, redact
from xmetrics_core.sandbox.settings import (
    MEDIA_ANALYTICS,
    REQUIRED_SCOPES,
    TIERS,
    TWEET_BY_ID,
    TWEETS_ANALYTICS,
    TWEETS_LOOKUP,
    USAGE_TWEETS,
    USER_TWEETS,
    USERS_ME,
    SandboxClock,
    SandboxSettings,
    Tier,
    settings_to_json,
)
from xmetrics_core.sandbox.usage import UsageMeter, usage_tweets
from xmetrics_core.sandbox.world import (
    PREVIEW_IMAGE_PREFIX,
    PREVIEW_IMAGE_SUFFIX,
    World,
    build_world,
)

JSON_TYPE = "application/json; charset=utf-8"
#: The WSGI environ key holding the number of the connection a request came on.
CONNECTION_NUMBER_KEY = "xmetrics.connection"
HTML_TYPE = "text/html; charset=utf-8"
#: How often the serving loop checks for stop(): bounds how long stop() takes.
SHUTDOWN_POLL_SECONDS = 0.05
DEFAULT_OAUTH2_SCOPES = ("tweet.read", "users.read", "offline.access")

SANDBOX_WORLD_PATH = "/sandbox/world"
SANDBOX_EXPORTS_PATH = "/sandbox/exports"

V2_ENDPOINTS = frozenset(
    {
        TWEETS_LOOKUP,
        TWEET_BY_ID,
        USERS_ME,
        USER_TWEETS,
        TWEETS_ANALYTICS,
        MEDIA_ANALYTICS,
        USAGE_TWEETS,
    }
)
#: Endpoints that read Posts: billed per Post and stopped by the project cap.
POST_READS = frozenset({TWEETS_LOOKUP, TWEET_BY_ID, USER_TWEETS})
#: Endpoints that take no app-only Bearer, and the one that takes nothing else.
USER_CONTEXT_ONLY = frozenset({USERS_ME, TWEETS_ANALYTICS, MEDIA_ANALYTICS})
APP_ONLY = frozenset({USAGE_TWEETS})
#: Endpoints a pay-per-use app may not call (ANALYTICS.md: Enterprise only).
ENTERPRISE_ONLY = frozenset({TWEETS_ANALYTICS, MEDIA_ANALYTICS})
_AUTH_NAMES = {"oauth1": "OAuth 1.0a User Context", "oauth2_user": "OAuth 2.0 User Context"}


def _route_map() -> Map:
    """Every path the sandbox serves, as werkzeug rules (endpoint names are route keys)."""
    return Map(
        [
            Rule("/2/tweets", endpoint=TWEETS_LOOKUP, methods=["GET"]),
            Rule("/2/tweets/analytics", endpoint=TWEETS_ANALYTICS, methods=["GET"]),
            Rule("/2/tweets/<resource_id>", endpoint=TWEET_BY_ID, methods=["GET"]),
            Rule("/2/media/analytics", endpoint=MEDIA_ANALYTICS, methods=["GET"]),
            Rule("/2/usage/tweets", endpoint=USAGE_TWEETS, methods=["GET"]),
            Rule("/2/users/me", endpoint=USERS_ME, methods=["GET"]),
            Rule("/2/users/<resource_id>/tweets", endpoint=USER_TWEETS, methods=["GET"]),
            Rule("/oauth2/token", endpoint="app_only_token", methods=["POST"]),
            Rule("/oauth/request_token", endpoint="oauth1_request_token", methods=["POST"]),
            Rule("/oauth/authorize", endpoint="oauth1_authorize", methods=["GET", "POST"]),
            Rule("/oauth/access_token", endpoint="oauth1_access_token", methods=["POST"]),
            Rule("/i/oauth2/authorize", endpoint="oauth2_authorize", methods=["GET", "POST"]),
            Rule("/2/oauth2/token", endpoint="oauth2_token", methods=["POST"]),
            Rule("/2/oauth2/revoke", endpoint="oauth2_revoke", methods=["POST"]),
            # the sandbox's own (X has no such paths): what team replicas need of the
            # shared Demo sandbox (xmetrics_core.sandbox.remote), with the app's Bearer token
            Rule(SANDBOX_WORLD_PATH, endpoint="sandbox_world", methods=["GET"]),
            Rule(SANDBOX_EXPORTS_PATH, endpoint="sandbox_exports", methods=["GET"]),
            Rule(
                f"{PREVIEW_IMAGE_PREFIX}<media_key>{PREVIEW_IMAGE_SUFFIX}",
                endpoint="media_preview",
                methods=["GET"],
            ),
        ],
        strict_slashes=False,
    )


class _KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler speaking HTTP/1.1 with persistent connections, like X, and no access
    log (URLs may carry request tokens).

    werkzeug sends ``Connection: close`` on every answer because, after each one, it discards
    whatever the socket still holds (an unread request body), which on a kept-alive connection
    would be the client's next request. Here ``wsgi.input`` is the request's own body, at most
    its ``Content-Length`` bytes (werkzeug's ``LimitedStream``), so that discard stops at the
    body and the connection can stay open: each thread then serves one connection's requests
    in turn. Every answer has a ``Content-Length`` (werkzeug sets it for bytes bodies). A
    request with a chunked body, or ``Connection: close``, still closes. A connection idle for
    ``SandboxSettings.keep_alive_idle_seconds`` (the socket's timeout) is closed and its thread
    ends; :meth:`Sandbox.stop` closes the rest at once."""

    protocol_version = "HTTP/1.1"
    server: _KeepAliveServer
    _keep_alive = False

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return self.server.idle_seconds

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[CONNECTION_NUMBER_KEY] = self.server.connection_number(self.connection)
        return environ

    def setup(self) -> None:
        super().setup()
        # The headers and the body are two writes: without TCP_NODELAY, Nagle holds the body
        # until the client's delayed ACK of the headers (~40 ms) on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        self._keep_alive = not self.close_connection and not chunked
        if not self._keep_alive:
            super().run_wsgi()
            return
        connection_stream = self.rfile
        length = self.headers.get("Content-Length", "0")
        limit = int(length) if length.isdigit() else 0
        body = LimitedStream(cast(IO[bytes], connection_stream), limit)
        self.rfile = cast(BufferedIOBase, body)  # read() is all werkzeug asks of it here
        try:
            super().run_wsgi()
        finally:
            self.rfile = connection_stream
        if not body.is_exhausted:
            # werkzeug's discard gave up on a body still arriving: the rest of it is not a
            # next request, so this connection cannot go on.
            self.close_connection = True

    def send_header(self, keyword: str, value: str) -> None:
        if self._keep_alive and keyword.lower() == "connection" and value.lower() == "close":
            return  # werkzeug's unconditional close: this connection stays open
        super().send_header(keyword, value)

    def connection_dropped(
        self, error: BaseException, environ: Mapping[str, Any] | None = None
    ) -> None:
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        return None


class _KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server (a daemon thread per connection) that knows each open
    connection and its thread, so that :meth:`close_connections` can end idle keep-alive
    connections at once and wait for their threads (socketserver does not track daemon
    threads)."""

    def __init__(self, host: str, port: int, app: Any, *, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._open_lock = threading.Lock()
        self._open: dict[socket.socket, tuple[int, threading.Thread]] = {}
        self._accepted = 0
        super().__init__(host, port, app, handler=_KeepAliveHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"xmetrics-sandbox-{self.port}-connection",
            daemon=True,
        )
        with self._open_lock:
            self._accepted += 1
            self._open[request] = (self._accepted, thread)
        thread.start()

    def connection_number(self, connection: socket.socket) -> int:
        """The connection's number in accept order (1, 2, …), 0 once it is closed."""
        with self._open_lock:
            number, _ = self._open.get(connection, (0, None))
        return number

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self, *, timeout: float) -> None:
        """Shut every open connection down and wait (up to ``timeout`` s in all) for their
        threads: one waiting for a next request reads the end of the stream, one still
        answering fails its write."""
        with self._open_lock:
            open_connections = list(self._open.items())
        for connection, _ in open_connections:
            with contextlib.suppress(OSError):  # its thread is closing it
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, (_, thread) in open_connections:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


@dataclass(frozen=True, kw_only=True)
class _Auth:
    kind: str
    user_id: str | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def caller(self) -> Caller:
        return Caller(kind=self.kind, user_id=self.user_id)


_NO_AUTH = _Auth(kind="none")


@dataclass(frozen=True, kw_only=True)
class _Outcome:
    response: Response
    auth: _Auth
    fault: str | None = None
    answer_after: float = 0.0
    """Seconds after the request arrived before the answer may leave (injected latency)."""


class _Credits:
    def __init__(self, initial: int | None) -> None:
        self._lock = threading.Lock()
        self._remaining = initial

    @property
    def remaining(self) -> int | None:
        with self._lock:
            return self._remaining

    def exhausted(self) -> bool:
        with self._lock:
            return self._remaining is not None and self._remaining <= 0

    def spend(self, amount: int) -> None:
        with self._lock:
            if self._remaining is not None:
                self._remaining = max(0, self._remaining - amount)

    def set(self, remaining: int | None) -> None:
        with self._lock:
            self._remaining = remaining


class Sandbox:
    """A running sandbox. Use :func:`start_sandbox`; stop with :meth:`stop` or ``with``."""

    def __init__(
        self, *, settings: SandboxSettings, seed: int, now: datetime | None, speed: float = 0.0
    ) -> None:
        self.settings = settings
        self.seed = seed
        self.clock = SandboxClock(start=now, speed=speed)
        self.world: World = build_world(
            seed=seed, now=self.clock.now(), settings=settings, clock=self.clock.now
        )
        self.usage = UsageMeter()
        self._tier: Tier = settings.tier
        self.request_log = RequestLog()
        self.faults = FaultInjector()
        self._app = app_credentials(seed)
        self.accounts: tuple[SandboxAccount, ...] = sandbox_accounts(seed, self.world)
        self._oauth2 = SandboxOAuth2(app=self._app, settings=settings, clock=self.clock)
        for uri in DEFAULT_REDIRECT_URIS:
            self._oauth2.register_redirect_uri(uri)
        self._oauth1 = SandboxOAuth1(
            validator=SandboxValidator(
                app=self._app,
                accounts=self.accounts,
                clock=self.clock,
                redirect_uris=self._oauth2.redirect_uris,
            )
        )
        self._limiter = RateLimiter(clock=self.clock, window_seconds=settings.window_seconds)
        self._credits = _Credits(settings.credits)
        self._stopping = threading.Event()
        self._routes = _route_map()
        self._server = _KeepAliveServer(
            settings.host,
            settings.port,
            self._wsgi,
            idle_seconds=settings.keep_alive_idle_seconds,
        )
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://{settings.host}:{self.port}"
        self._renderer = ApiRenderer(
            world=self.world, settings=settings, media_base_url=self.base_url
        )
        self._analytics = AnalyticsRenderer(world=self.world, settings=settings)
        demo = self.accounts[0]
        self.demo = DemoCredentials(
            base_url=self.base_url,
            bearer_token=self._app.bearer_token,
            consumer_key=self._app.consumer_key,
            consumer_secret=self._app.consumer_secret,
            access_token=demo.access_token,
            access_token_secret=demo.access_token_secret,
            client_id=self._app.client_id,
            client_secret=self._app.client_secret,
            redirect_uris=DEFAULT_REDIRECT_URIS,
            demo_user_id=self.world.demo_user_id,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name=f"xmetrics-sandbox-{self.port}",
            daemon=True,
        )

    def __repr__(self) -> str:
        return f"Sandbox(base_url={self.base_url!r}, seed={self.seed})"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Serve on the daemon thread (called by :func:`start_sandbox`)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port: slow-fault sleepers wake up, kept-alive
        connections are closed and every connection's thread has ended on return."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.close_connections(timeout=5)
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers -------------------------------------------------------------------------
    def register_redirect_uri(self, uri: str) -> None:
        """Allow one more exact OAuth 2.0 redirect URI (also an OAuth 1.0a callback)."""
        self._oauth2.register_redirect_uri(uri)

    def issue_oauth2_token(
        self,
        user_id: str,
        *,
        scopes: Iterable[str] = DEFAULT_OAUTH2_SCOPES,
        lifetime: int | None = None,
    ) -> dict[str, object]:
        """Mint an OAuth 2.0 user token without the consent page: the token endpoint's body."""
        if self.world.user(user_id) is None:
            raise KeyError(f"no sandbox user {user_id}")
        return self._oauth2.issue(user_id, scopes=tuple(scopes), lifetime=lifetime)

    def demo_exports(self, *, at: datetime | None = None) -> dict[str, bytes]:
        """The Demo account's analytics exports in X's four CSV formats at ``at`` (default
        the clock's world time): file name → bytes (see :mod:`.exports`)."""
        from xmetrics_core.sandbox.exports import demo_exports

        return demo_exports(self.world, at=at)

    def issued_secrets(self) -> frozenset[str]:
        """Every secret value this sandbox holds or has issued, for leak checks in tests.

        The app's Bearer token, consumer secret and client secret; every account's access
        token and secret; OAuth 2.0 codes, access and refresh tokens; OAuth 1.0a request-token
        secrets, verifiers and access tokens. Public values (consumer key, client ID, request
        tokens, which travel in URLs) are not included. Works after :meth:`stop` too.
        """
        app = self._app
        return frozenset(
            {app.bearer_token, app.consumer_secret, app.client_secret}
            | self._oauth2.issued_secrets()
            | self._oauth1.validator.issued_secrets()
        )

    @property
    def credits_remaining(self) -> int | None:
        """Credits left (None: unlimited)."""
        return self._credits.remaining

    def set_credits(self, remaining: int | None) -> None:
        """Top up or drain the balance (None: unlimited) while the sandbox runs."""
        if remaining is not None and remaining < 0:
            raise ValueError("credits cannot be negative")
        self._credits.set(remaining)

    @property
    def tier(self) -> Tier:
        """The app's access level: ``pay-per-use`` or ``enterprise``."""
        return self._tier

    def set_tier(self, tier: Tier) -> None:
        """Switch the app's access level while the sandbox runs (the analytics endpoints
        answer from the next request on)."""
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
        self._tier = tier

    @property
    def redirect_uris(self) -> frozenset[str]:
        """Every registered OAuth 2.0 redirect URI (also accepted as OAuth 1.0a callbacks)."""
        return self._oauth2.redirect_uris()

    def reset_rate_limits(self) -> None:
        """Forget every rate-limit window."""
        self._limiter.reset()

    # -- WSGI ---------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        arrived = time.monotonic()
        begun = self.request_log.begin()
        request = Request(environ)
        params = _params(request)
        try:
            outcome = self._dispatch(request, environ)
        except Exception:  # a sandbox bug must still answer (500) and be visible on stderr
            traceback.print_exc()
            outcome = _Outcome(
                response=_json(500, problems.server_error(500)), auth=_Auth(kind="none")
            )
        remaining = outcome.answer_after - (time.monotonic() - arrived)
        if remaining > 0:
            self._stopping.wait(remaining)
        self.request_log.append(
            LoggedRequest(
                method=request.method,
                path=request.path,
                params=redact(params),
                auth=outcome.auth.kind,
                user_id=outcome.auth.user_id,
                status=0 if outcome.fault == "drop" else outcome.response.status_code,
                fault=outcome.fault,
                connection=environ.get(CONNECTION_NUMBER_KEY, 0),
            ),
            begun=begun,
        )
        return outcome.response(environ, start_response)

    def _dispatch(self, request: Request, environ: dict[str, Any]) -> _Outcome:
        adapter = self._routes.bind_to_environ(environ)
        try:
            endpoint, arguments = adapter.match()
        except MethodNotAllowed:
            return _Outcome(response=_json(405, _problem(405, "Method Not Allowed")), auth=_NO_AUTH)
        except HTTPException:
            return _Outcome(response=_json(404, _problem(404, "Not Found")), auth=_NO_AUTH)
        if endpoint in V2_ENDPOINTS:
            return self._v2(request, environ, endpoint, str(arguments.get("resource_id", "")))
        if endpoint == "media_preview":
            return self._media_preview(str(arguments["media_key"]))
        if endpoint in ("sandbox_world", "sandbox_exports"):
            return self._sandbox_own(request, endpoint)
        handlers = {
            "app_only_token": self._app_only_token,
            "oauth1_request_token": self._oauth1_request_token,
            "oauth1_authorize": (
                self._oauth1_authorize_page
                if request.method == "GET"
                else self._oauth1_authorize_submit
            ),
            "oauth1_access_token": self._oauth1_access_token,
            "oauth2_authorize": (
                self._oauth2_authorize_page
                if request.method == "GET"
                else self._oauth2_authorize_submit
            ),
            "oauth2_token": self._oauth2_token,
            "oauth2_revoke": self._oauth2_revoke,
        }
        return handlers[endpoint](request)

    # -- media host ---------------------------------------------------------------------------
    def _media_preview(self, media_key: str) -> _Outcome:
        """A video's or GIF's preview image (no auth, like X's media host); else 404."""
        media = self.world.media_item(media_key)
        if media is None or not has_preview(media):
            return _Outcome(response=_json(404, _problem(404, "Not Found")), auth=_NO_AUTH)
        response = Response(
            preview_image_svg(media),
            status=200,
            headers=SVG_SECURITY_HEADERS,
            content_type=SVG_CONTENT_TYPE,
        )
        return _Outcome(response=response, auth=_NO_AUTH)

    # -- the sandbox's own endpoints ------------------------------------------------------------
    def _sandbox_own(self, request: Request, endpoint: str) -> _Outcome:
        """``/sandbox/world`` (the clock's world time, the seed and the settings: what a twin
        of this world needs) or ``/sandbox/exports`` (the Demo account's four CSV exports at
        the clock, base64); the app's Bearer token only, like X's app-only endpoints."""
        auth = self._authenticate(request)
        if auth.kind != "bearer":
            return _Outcome(response=_json(401, problems.unauthorized()), auth=auth)
        if endpoint == "sandbox_world":
            user = self.world.user(self.world.demo_user_id)
            body: dict[str, object] = {
                "now": self.clock.now().isoformat(),
                "seed": self.seed,
                "settings": settings_to_json(self.settings),
                "demo_user_id": self.world.demo_user_id,
                "demo_username": user.username if user is not None else "",
            }
        else:
            files = self.demo_exports()
            body = {name: base64.b64encode(data).decode("ascii") for name, data in files.items()}
        return _Outcome(response=_json(200, body), auth=auth)

    # -- v2 -----------------------------------------------------------------------------------
    def _v2(
        self, request: Request, environ: dict[str, Any], endpoint: str, argument: str
    ) -> _Outcome:
        """A v2 call. Its answer leaves no sooner than the injected latency after the request
        arrived (``_Outcome.answer_after``, waited in :meth:`_wsgi` before it is logged as
        done): the sandbox works it out (auth, billing, the body) within that time, as X's
        servers work on concurrent requests in parallel, so the emulator's one process does
        not queue its own work behind the latency."""
        query = {k: request.args.getlist(k) for k in request.args}
        decision = self.faults.decide(
            method=request.method,
            path=request.path,
            query={k: ",".join(v) for k, v in query.items()},
        )
        fault = decision.fault
        if fault is not None and fault.kind == "drop":
            self._stopping.wait(decision.latency_seconds)
            _drop_connection(environ)
            return _Outcome(
                response=Response(b"", status=500), auth=_Auth(kind="none"), fault="drop"
            )
        outcome = self._v2_answer(request, endpoint, argument, query, decision)
        slow = fault.seconds if fault is not None and fault.kind == "slow" else 0.0
        return replace(outcome, answer_after=decision.latency_seconds + slow)

    def _v2_answer(
        self,
        request: Request,
        endpoint: str,
        argument: str,
        query: dict[str, list[str]],
        decision: FaultDecision,
    ) -> _Outcome:
        fault = decision.fault
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(fault.seconds)

        auth = self._authenticate(request)
        if auth.kind in ("none", "invalid"):
            return _Outcome(
                response=_json(401, problems.unauthorized()), auth=auth, fault=_fault_name(fault)
            )
        caller = auth.caller
        if fault is not None and fault.kind == "status":
            limit = self.settings.rate_limit_for(endpoint, user_context=caller.user_context)
            response = self._fault_response(fault, caller, limit=limit or 0)
            return _Outcome(response=response, auth=auth, fault="status")
        refusal = self._refusal(endpoint, auth)
        if refusal is not None:
            return _Outcome(response=refusal, auth=auth, fault=_fault_name(fault))

        limit = self.settings.rate_limit_for(endpoint, user_context=caller.user_context) or 0
        key = caller.user_id if caller.user_context and caller.user_id else "app"
        rate = self._limiter.hit(endpoint=endpoint, key=key, limit=limit)
        headers = {**rate.headers(), **self._common_headers(caller)}
        if not rate.allowed:
            return _Outcome(
                response=_json(429, problems.too_many_requests(), headers),
                auth=auth,
                fault=_fault_name(fault),
            )
        host = self.settings.problem_host
        if endpoint != USAGE_TWEETS and self._credits.exhausted():
            body = problems.credits_depleted(host, self.world.demo_user_id)
            return _Outcome(response=_json(402, body, headers), auth=auth, fault=_fault_name(fault))
        now = self.clock.now()
        if endpoint in POST_READS and self.usage.cycle_usage(now) >= self.settings.project_cap:
            body = problems.usage_capped(host, self.world.demo_user_id)
            return _Outcome(response=_json(429, body, headers), auth=auth, fault=_fault_name(fault))

        answer = self._answer(endpoint, argument, query, caller, now)
        if answer.served_ids:
            self._credits.spend(self.usage.bill(answer.served_ids, at=now))
        if fault is not None and fault.kind == "malformed":
            text = orjson.dumps(answer.body)
            truncated = text[: max(1, len(text) // 2)]
            response = Response(truncated, status=200, headers=headers, content_type=JSON_TYPE)
            return _Outcome(response=response, auth=auth, fault="malformed")
        return _Outcome(
            response=_json(answer.status, answer.body, headers), auth=auth, fault=_fault_name(fault)
        )

    def _refusal(self, endpoint: str, auth: _Auth) -> Response | None:
        """The 403 for a caller kind, a missing scope or an access level the endpoint refuses."""
        host = self.settings.problem_host
        caller = auth.caller
        if endpoint in USER_CONTEXT_ONLY and not caller.user_context:
            return _json(403, problems.unsupported_authentication(host))
        if endpoint in APP_ONLY and caller.user_context:
            body = problems.unsupported_authentication_for(
                host, caller=_AUTH_NAMES[caller.kind], supported=["OAuth 2.0 Application-Only"]
            )
            return _json(403, body)
        if (
            auth.kind == "oauth2_user"
            and not REQUIRED_SCOPES.get(endpoint, frozenset()) <= auth.scopes
        ):
            return _json(403, problems.forbidden())
        if endpoint in ENTERPRISE_ONLY and self._tier != "enterprise":
            return _json(403, problems.client_not_enrolled(host, client_id=self._app.client_app_id))
        return None

    def _answer(
        self,
        endpoint: str,
        argument: str,
        query: dict[str, list[str]],
        caller: Caller,
        now: datetime,
    ) -> ApiAnswer:
        if endpoint == TWEETS_LOOKUP:
            return self._renderer.tweets_lookup(query, caller, now=now)
        if endpoint == TWEET_BY_ID:
            return self._renderer.tweet_by_id(argument, query, caller, now=now)
        if endpoint == USERS_ME:
            return self._renderer.users_me(query, caller)
        if endpoint == USER_TWEETS:
            return self._renderer.user_tweets(argument, query, caller, now=now)
        if endpoint == TWEETS_ANALYTICS:
            return self._analytics.posts(query, caller, now=now)
        if endpoint == MEDIA_ANALYTICS:
            return self._analytics.media(query, caller, now=now)
        return usage_tweets(
            self.usage,
            self.settings,
            query,
            now=now,
            project_id=self._app.project_id,
            client_app_id=self._app.client_app_id,
        )

    def _common_headers(self, caller: Caller) -> dict[str, str]:
        return {
            "api-version": self.settings.api_version,
            "x-access-level": "read-write-directmessages" if caller.user_context else "read",
        }

    def _fault_response(self, fault: Fault, caller: Caller, *, limit: int) -> Response:
        if fault.status == 429:
            reset = int(self.clock.protocol_timestamp()) + fault.reset_in
            headers = {
                "x-rate-limit-limit": str(limit),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
                **self._common_headers(caller),
            }
            return _json(429, problems.too_many_requests(), headers)
        body = problems.server_error(fault.status)
        return _json(fault.status, body, self._common_headers(caller))

    def _authenticate(self, request: Request) -> _Auth:
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return _Auth(kind="none")
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
            if token == self._app.bearer_token:
                return _Auth(kind="bearer")
            grant = self._oauth2.access_grant(token)
            if grant is not None:
                return _Auth(
                    kind="oauth2_user", user_id=grant.user_id, scopes=frozenset(grant.scopes)
                )
            return _Auth(kind="invalid")
        if authorization.lower().startswith("oauth "):
            user_id = self._oauth1.verify(
                uri=_signed_uri(request),
                method=request.method,
                body=_form_body(request),
                headers=_oauth_headers(request),
            )
            if user_id is not None:
                return _Auth(kind="oauth1", user_id=user_id)
        return _Auth(kind="invalid")

    # -- app-only Bearer ----------------------------------------------------------------------
    def _app_only_token(self, request: Request) -> _Outcome:
        key, secret = _basic_credentials(request)
        auth = _Auth(kind="basic" if key else "none")
        if key != self._app.consumer_key or secret != self._app.consumer_secret:
            body = {
                "errors": [
                    {
                        "code": 99,
                        "message": "Unable to verify your credentials",
                        "label": "authenticity_token_error",
                    }
                ]
            }
            return _Outcome(response=_json(403, body), auth=_Auth(kind="invalid"))
        if request.form.get("grant_type") != "client_credentials":
            body = {
                "errors": [
                    {
                        "code": 170,
                        "message": "Missing required parameter: grant_type",
                        "label": "forbidden_missing_parameter",
                    }
                ]
            }
            return _Outcome(response=_json(403, body), auth=auth)
        token = {"token_type": "bearer", "access_token": self._app.bearer_token}
        return _Outcome(response=_json(200, token), auth=auth)

    # -- OAuth 1.0a ---------------------------------------------------------------------------
    def _oauth1_request_token(self, request: Request) -> _Outcome:
        answer = self._oauth1.request_token(
            uri=_signed_uri(request), body=_form_body(request), headers=_oauth_headers(request)
        )
        return _Outcome(
            response=_form_response(answer.status, answer.body),
            auth=_Auth(kind="oauth1" if answer.status == 200 else "invalid"),
        )

    def _oauth1_authorize_page(self, request: Request) -> _Outcome:
        token = request.args.get("oauth_token", "")
        if self._oauth1.validator.pending_callback(token) is None:
            html = pages.error_page(
                "Invalid request", "This authorization request is unknown or expired."
            )
            return _Outcome(response=_html(400, html), auth=_Auth(kind="none"))
        html = pages.oauth1_authorize(
            action="/oauth/authorize",
            fields={"oauth_token": token},
            users=self._signable_users(),
            default_user_id=self.world.demo_user_id,
        )
        return _Outcome(response=_html(200, html), auth=_Auth(kind="none"))

    def _oauth1_authorize_submit(self, request: Request) -> _Outcome:
        token = request.form.get("oauth_token", "")
        user_id = request.form.get("user_id", self.world.demo_user_id)
        callback = self._oauth1.validator.pending_callback(token)
        user = self.world.user(user_id)
        if callback is None or user is None or user.suspended:
            html = pages.error_page(
                "Invalid request", "This authorization request is unknown or expired."
            )
            return _Outcome(response=_html(400, html), auth=_Auth(kind="none"))
        verifier = self._oauth1.validator.approve(token, user_id)
        assert verifier is not None
        if callback == "oob":
            return _Outcome(
                response=_html(200, pages.oauth1_pin(verifier)), auth=_Auth(kind="none")
            )
        location = _with_query(callback, {"oauth_token": token, "oauth_verifier": verifier})
        return _Outcome(response=_redirect(location), auth=_Auth(kind="none"))

    def _oauth1_access_token(self, request: Request) -> _Outcome:
        answer = self._oauth1.access_token(
            uri=_signed_uri(request), body=_form_body(request), headers=_oauth_headers(request)
        )
        return _Outcome(
            response=_form_response(answer.status, answer.body),
            auth=_Auth(kind="oauth1" if answer.status == 200 else "invalid"),
        )

    # -- OAuth 2.0 ----------------------------------------------------------------------------
    def _signable_users(self) -> list[Any]:
        return [u for u in self.world.users if not u.suspended]

    def _oauth2_authorize_page(self, request: Request) -> _Outcome:
        params = {k: request.args.get(k, "") for k in request.args}
        try:
            checked = self._oauth2.check_authorize(params)
        except AuthorizeError as error:
            return _Outcome(
                response=_html(400, pages.error_page("Something went wrong", str(error))),
                auth=_Auth(kind="none"),
            )
        fields = {
            "response_type": "code",
            "client_id": checked.client_id,
            "redirect_uri": checked.redirect_uri,
            "state": checked.state,
            "scope": " ".join(checked.scopes),
            "code_challenge": checked.code_challenge,
            "code_challenge_method": checked.code_challenge_method,
        }
        html = pages.oauth2_consent(
            action="/i/oauth2/authorize",
            fields=fields,
            scopes=checked.scopes,
            users=self._signable_users(),
            default_user_id=self.world.demo_user_id,
        )
        return _Outcome(response=_html(200, html), auth=_Auth(kind="none"))

    def _oauth2_authorize_submit(self, request: Request) -> _Outcome:
        params = {k: request.form.get(k, "") for k in request.form}
        try:
            checked = self._oauth2.check_authorize(params)
        except AuthorizeError as error:
            return _Outcome(
                response=_html(400, pages.error_page("Something went wrong", str(error))),
                auth=_Auth(kind="none"),
            )
        if params.get("decision") != "allow":
            location = _with_query(
                checked.redirect_uri, {"error": "access_denied", "state": checked.state}
            )
            return _Outcome(response=_redirect(location), auth=_Auth(kind="none"))
        user_id = params.get("user_id") or self.world.demo_user_id
        user = self.world.user(user_id)
        if user is None or user.suspended:
            html = pages.error_page("Something went wrong", "That account cannot sign in.")
            return _Outcome(response=_html(400, html), auth=_Auth(kind="none"))
        code = self._oauth2.issue_code(checked, user_id)
        location = _with_query(checked.redirect_uri, {"state": checked.state, "code": code})
        return _Outcome(response=_redirect(location), auth=_Auth(kind="none", user_id=user_id))

    def _oauth2_token(self, request: Request) -> _Outcome:
        authorization = request.headers.get("Authorization", "")
        form = {k: request.form.get(k, "") for k in request.form}
        answer = self._oauth2.token(form, authorization=authorization)
        auth = _Auth(kind="basic" if authorization.lower().startswith("basic ") else "none")
        return _Outcome(response=_json(answer.status, answer.body), auth=auth)

    def _oauth2_revoke(self, request: Request) -> _Outcome:
        authorization = request.headers.get("Authorization", "")
        form = {k: request.form.get(k, "") for k in request.form}
        answer = self._oauth2.revoke(form, authorization=authorization)
        auth = _Auth(kind="basic" if authorization.lower().startswith("basic ") else "none")
        return _Outcome(response=_json(answer.status, answer.body), auth=auth)


#: The captured-behaviour defaults (a frozen value, safe to share).
DEFAULT_SETTINGS = SandboxSettings()


def start_sandbox(
    *,
    settings: SandboxSettings = DEFAULT_SETTINGS,
    seed: int = 7,
    now: datetime | None = None,
    speed: float = 0.0,
) -> Sandbox:
    """Build the seeded world and serve it on 127.0.0.1 (ephemeral port) on a daemon thread.

    ``now`` starts the clock's world time (default: the real time) and picks the UTC day the
    world is anchored to; ``speed`` is sandbox seconds per real second (default 0: the world
    holds still until ``clock.run()``, ``clock.set()`` or ``clock.advance()`` moves it; 1 lives
    in real time). Tokens, codes and rate-limit windows always run on real time (plus
    ``clock.advance()``).
    """
    return Sandbox(settings=settings, seed=seed, now=now, speed=speed).start()


# -- helpers --------------------------------------------------------------------------------


def _json(
    status: int, body: Mapping[str, object], headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` as X sends it: compact UTF-8 JSON, encoded by orjson (a lookup of 100 Posts
    with every group encodes in well under a millisecond; the standard library took ~5 ms,
    serialised under the sandbox's GIL by every concurrent request)."""
    return Response(
        orjson.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type=JSON_TYPE,
    )


def _html(status: int, html: str) -> Response:
    return Response(html, status=status, content_type=HTML_TYPE)


def _form_response(status: int, body: str) -> Response:
    return Response(body, status=status, content_type="application/x-www-form-urlencoded")


def _redirect(location: str) -> Response:
    return Response("", status=302, headers={"Location": location})


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(extra)}"


def _problem(status: int, title: str) -> dict[str, object]:
    return {"title": title, "type": "about:blank", "status": status, "detail": title}


def _fault_name(fault: Fault | None) -> str | None:
    return fault.kind if fault is not None else None


def _params(request: Request) -> dict[str, str]:
    params = {k: ",".join(request.args.getlist(k)) for k in request.args}
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        params.update({k: ",".join(request.form.getlist(k)) for k in request.form})
    return params


def _signed_uri(request: Request) -> str:
    raw = request.environ.get("REQUEST_URI") or request.full_path
    host = request.headers.get("Host", request.host)
    return f"http://{host}{raw}"


def _form_body(request: Request) -> str:
    if request.mimetype != "application/x-www-form-urlencoded":
        return ""
    return request.get_data(as_text=True)


def _oauth_headers(request: Request) -> dict[str, str]:
    headers = {"Authorization": request.headers.get("Authorization", "")}
    if request.content_type:
        headers["Content-Type"] = request.content_type
    return headers


def _basic_credentials(request: Request) -> tuple[str, str]:
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(authorization[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return "", ""
    key, _, secret = decoded.partition(":")
    return unquote(key), unquote(secret)


def _drop_connection(environ: Mapping[str, Any]) -> None:
    """Close the client's TCP connection with a reset and no HTTP response at all."""
    connection = environ.get("werkzeug.socket")
    if not isinstance(connection, socket.socket):
        return
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
