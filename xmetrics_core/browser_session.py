"""Browser sessions: what one browser keeps on the server between page loads.

Streamlit starts a new session on every page load (a reload, a new tab, a direct link,
Back and Forward, the return from an OAuth consent page), and ``st.session_state`` starts
empty each time. So the dashboard's server entry (``server.py``) gives every browser a
random id in an HttpOnly cookie (:data:`BROWSER_COOKIE`, ``SameSite=Lax``, set by
:class:`BrowserCookieMiddleware` on the first response), the websocket handshake brings it
back, and the script reads it from ``st.context.cookies``. Under that id the server keeps,
in a :class:`~xmetrics_core.state.StateStore`, as JSON:

* the connection (credential, account, endpoints, how it was made) and its revision;
* the last fetched query (the paste text and the metric groups), so the results come back
  from the result cache after a reload;
* the Posts page's form (paste text, picked Posts, groups, chart toggles);
* preferences (the time zone);
* one-shot messages (the outcome of an OAuth callback finished by the server).

The store key is a hash of the id (``xmetrics:browser:<sha256>:<part>``), never the cookie
value itself. Every part expires :data:`BROWSER_SESSION_TTL_SECONDS` after it was last
written; reading the connection refreshes them all when they are older than a quarter of
that. Disconnect deletes the connection and the query.

Values are bytes of JSON only (no live objects): a :class:`Connection` is re-created from
them, so the store can be shared by several server processes (e.g. Redis).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

from xmetrics_core.connection import Account, AuthMethod, Connection, Endpoints
from xmetrics_core.credentials import credential_from_json, credential_to_json
from xmetrics_core.errors import ConfigurationError
from xmetrics_core.state import StateStore

BROWSER_COOKIE: Final = "xmetrics_browser"
"""The cookie naming a browser: a random id, HttpOnly, SameSite=Lax, path /."""
BROWSER_SESSION_TTL_SECONDS: Final = 12 * 60 * 60
"""A browser session ends 12 hours after its last use (or on Disconnect)."""
_BROWSER_ID: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_KEY_PREFIX: Final = "xmetrics:browser:"

AlertKind = Literal["success", "error", "warning", "info"]


# -- the browser id ---------------------------------------------------------------------------


def new_browser_id() -> str:
    """A fresh random browser id (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def valid_browser_id(value: object) -> str | None:
    """``value`` when it has the shape of a browser id we issue, else None."""
    return value if isinstance(value, str) and _BROWSER_ID.fullmatch(value) else None


def browser_fingerprint(browser_id: str) -> str:
    """The id's SHA-256 (hex): what the store and pending sign-ins keep, never the id."""
    return hashlib.sha256(browser_id.encode("ascii")).hexdigest()


# -- JSON of a connection ---------------------------------------------------------------------


def connection_to_json(connection: Connection) -> dict[str, Any]:
    """Everything needed to re-create ``connection`` (secrets included: server-side only)."""
    account = connection.account
    return {
        "method": connection.method.value,
        "api_base_url": connection.endpoints.api_base_url,
        "web_base_url": connection.endpoints.web_base_url,
        "account": None
        if account is None
        else {"id": account.id, "username": account.username, "name": account.name},
        "source": connection.source,
        "connected_at": connection.connected_at.astimezone(UTC).isoformat(),
        "fingerprint": connection.fingerprint,
        "credential": credential_to_json(connection.credential),
    }


def connection_from_json(data: Mapping[str, Any]) -> Connection:
    """The inverse of :func:`connection_to_json`; ConfigurationError on anything malformed."""
    try:
        account = data.get("account")
        return Connection(
            credential=credential_from_json(data["credential"]),
            method=AuthMethod(data["method"]),
            endpoints=Endpoints(
                api_base_url=str(data["api_base_url"]), web_base_url=str(data["web_base_url"])
            ),
            account=None
            if not account
            else Account(
                id=str(account["id"]),
                username=str(account["username"]),
                name=str(account.get("name", "")),
            ),
            source=str(data.get("source", "")),
            connected_at=datetime.fromisoformat(str(data["connected_at"])),
            fingerprint=str(data.get("fingerprint", "")),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(f"stored connection is missing {exc}") from None


# -- what one browser keeps -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StoredConnection:
    """A browser's connection and how many times it was replaced (tabs compare it)."""

    connection: Connection
    remember: bool = False
    revision: int = 1


@dataclass(frozen=True, kw_only=True)
class StoredQuery:
    """The last Fetch: the exact text parsed (paste + picked Posts) and the groups."""

    paste: str
    groups: tuple[str, ...]
    fingerprint: str = ""
    """The credential fingerprint the results were fetched with (the cache key's start)."""
    fetched_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class StoredForm:
    """The Posts and Video pages' inputs as the user left them."""

    text: str = ""
    picked: tuple[str, ...] = ()
    groups: tuple[str, ...] | None = None
    """The ticked metric groups, or None before the user saw the checkboxes."""
    groups_for: str = ""
    """The credential fingerprint the group choice was made for."""
    per_post: bool = False
    video: str | None = None


@dataclass(frozen=True, kw_only=True)
class Message:
    """A one-shot message for the browser's next page (e.g. an OAuth callback's outcome)."""

    kind: AlertKind
    text: str


@dataclass(frozen=True, kw_only=True)
class Preferences:
    """Chosen once per browser session."""

    timezone: str = "UTC"


def _dumps(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _loads(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        data = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class BrowserSessions:
    """Per-browser state in a :class:`StateStore` (see the module docstring).

    Every method takes the browser id from the cookie; the store only ever sees its hash.
    """

    PARTS: Final = ("connection", "query", "form", "prefs", "messages")

    def __init__(
        self,
        *,
        store: StateStore[bytes],
        ttl_seconds: float = BROWSER_SESSION_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def _key(self, browser_id: str, part: str) -> str:
        return f"{_KEY_PREFIX}{browser_fingerprint(browser_id)}:{part}"

    def _put(self, browser_id: str, part: str, data: Mapping[str, Any]) -> None:
        body = {**data, "saved_at": self._clock()}
        self._store.put(self._key(browser_id, part), _dumps(body), ttl_seconds=self.ttl_seconds)

    def _get(self, browser_id: str, part: str) -> dict[str, Any] | None:
        return _loads(self._store.get(self._key(browser_id, part)))

    # -- connection --------------------------------------------------------------------------
    def connection(self, browser_id: str) -> StoredConnection | None:
        """The browser's connection, or None (never connected, disconnected, expired or
        unreadable). Keeps the whole session alive while it is used."""
        data = self._get(browser_id, "connection")
        if data is None:
            return None
        try:
            stored = StoredConnection(
                connection=connection_from_json(data["connection"]),
                remember=bool(data.get("remember", False)),
                revision=int(data.get("revision", 1)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if self._clock() - float(data.get("saved_at", 0)) > self.ttl_seconds / 4:
            self._touch(browser_id)
        return stored

    def save_connection(
        self, browser_id: str, connection: Connection, *, remember: bool = False
    ) -> StoredConnection:
        """Make ``connection`` the browser's connection (a new revision)."""
        with self._lock:
            old = self._get(browser_id, "connection") or {}
            revision = int(old.get("revision", 0)) + 1
            self._put(
                browser_id,
                "connection",
                {
                    "connection": connection_to_json(connection),
                    "remember": remember,
                    "revision": revision,
                },
            )
        return StoredConnection(connection=connection, remember=remember, revision=revision)

    def update_connection(self, browser_id: str, connection: Connection) -> StoredConnection | None:
        """The same connection with rotated tokens (an OAuth 2.0 refresh): a new revision,
        so the browser's other tabs pick up the new tokens. None (nothing saved) when the
        browser's connection is gone or is another one by now."""
        current = self.connection(browser_id)
        if current is None or current.connection.fingerprint != connection.fingerprint:
            return None
        return self.save_connection(browser_id, connection, remember=current.remember)

    def forget_connection(self, browser_id: str) -> None:
        """Disconnect: the connection and the last query go; the form and preferences stay."""
        for part in ("connection", "query"):
            self._store.delete(self._key(browser_id, part))

    def end(self, browser_id: str) -> None:
        """Forget everything this browser kept."""
        for part in self.PARTS:
            self._store.delete(self._key(browser_id, part))

    def _touch(self, browser_id: str) -> None:
        for part in self.PARTS:
            if part == "messages":
                continue
            data = self._get(browser_id, part)
            if data is not None:
                self._put(browser_id, part, {k: v for k, v in data.items() if k != "saved_at"})

    # -- the last fetch and the form -----------------------------------------------------------
    def query(self, browser_id: str) -> StoredQuery | None:
        data = self._get(browser_id, "query")
        if data is None:
            return None
        try:
            fetched = data.get("fetched_at")
            return StoredQuery(
                paste=str(data["paste"]),
                groups=tuple(str(g) for g in data["groups"]),
                fingerprint=str(data.get("fingerprint", "")),
                fetched_at=datetime.fromisoformat(fetched) if fetched else None,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def save_query(self, browser_id: str, query: StoredQuery) -> None:
        fetched = query.fetched_at
        self._put(
            browser_id,
            "query",
            {
                "paste": query.paste,
                "groups": list(query.groups),
                "fingerprint": query.fingerprint,
                "fetched_at": fetched.astimezone(UTC).isoformat() if fetched else None,
            },
        )

    def form(self, browser_id: str) -> StoredForm | None:
        data = self._get(browser_id, "form")
        if data is None:
            return None
        try:
            groups = data.get("groups")
            return StoredForm(
                text=str(data.get("text", "")),
                picked=tuple(str(p) for p in data.get("picked", ())),
                groups=None if groups is None else tuple(str(g) for g in groups),
                groups_for=str(data.get("groups_for", "")),
                per_post=bool(data.get("per_post", False)),
                video=None if data.get("video") is None else str(data["video"]),
            )
        except (TypeError, ValueError):
            return None

    def save_form(self, browser_id: str, form: StoredForm) -> None:
        self._put(
            browser_id,
            "form",
            {
                "text": form.text,
                "picked": list(form.picked),
                "groups": None if form.groups is None else list(form.groups),
                "groups_for": form.groups_for,
                "per_post": form.per_post,
                "video": form.video,
            },
        )

    # -- preferences and messages --------------------------------------------------------------
    def preferences(self, browser_id: str) -> Preferences:
        data = self._get(browser_id, "prefs") or {}
        return Preferences(timezone=str(data.get("timezone") or "UTC"))

    def save_preferences(self, browser_id: str, preferences: Preferences) -> None:
        self._put(browser_id, "prefs", {"timezone": preferences.timezone})

    def push_message(self, browser_id: str, message: Message) -> None:
        """Leave ``message`` for the browser's next page (kept with any not yet shown)."""
        with self._lock:
            waiting = self._get(browser_id, "messages") or {}
            items = [*waiting.get("items", []), {"kind": message.kind, "text": message.text}]
            self._put(browser_id, "messages", {"items": items[-5:]})

    def take_messages(self, browser_id: str) -> tuple[Message, ...]:
        """The waiting messages, removed (each is shown once)."""
        data = _loads(self._store.take(self._key(browser_id, "messages"))) or {}
        found: list[Message] = []
        for item in data.get("items", []):
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind in ("success", "error", "warning", "info"):
                found.append(Message(kind=kind, text=str(item.get("text", ""))))
        return tuple(found)


# -- the HTTP side: the cookie and OAuth callbacks finished by the server ---------------------

CALLBACK_PARAMS: Final = frozenset(
    {"code", "state", "error", "oauth_token", "oauth_verifier", "denied"}
)
_NOT_APP_PAGES: Final = ("/_stcore", "/static", "/media", "/component", "/app/static")


def callback_params(query_string: bytes | str) -> dict[str, str] | None:
    """The query parameters when they are an OAuth callback (X sending the browser back),
    else None. The first value of each name counts."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    params: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        params.setdefault(name, value)
    if is_oauth_callback(params):
        return params
    return None


def is_oauth_callback(params: Mapping[str, str]) -> bool:
    """OAuth 2.0 (``code`` or ``error`` with ``state``) or OAuth 1.0a (``oauth_token`` with
    ``oauth_verifier``, or ``denied``)."""
    return (
        ("state" in params and ("code" in params or "error" in params))
        or ("oauth_token" in params and "oauth_verifier" in params)
        or "denied" in params
    )


def is_app_page(path: str) -> bool:
    """A path the dashboard's pages live on (not Streamlit's assets, media or API)."""
    return not any(path == p or path.startswith(f"{p}/") for p in _NOT_APP_PAGES)


def browser_id_from_cookie_header(header: str | None) -> str | None:
    """The browser id in a ``Cookie`` header, or None (absent, malformed or not ours)."""
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(BROWSER_COOKIE)
    return valid_browser_id(morsel.value) if morsel is not None else None


def set_cookie_header(browser_id: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value giving a browser its id: HttpOnly, SameSite=Lax, path ``/``,
    a session cookie (it ends with the browser; the server-side session ends sooner)."""
    attributes = [f"{BROWSER_COOKIE}={browser_id}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


CallbackHandler = Callable[[dict[str, str], str], None]
"""``handler(params, browser_id)``: finish an OAuth callback for this browser (blocking; it
talks to X). It leaves the outcome in the browser's session."""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


@dataclass(frozen=True, kw_only=True)
class _Redirect:
    location: str
    set_cookie: str | None
    extra: Iterable[tuple[bytes, bytes]] = field(default=())


class BrowserCookieMiddleware:
    """ASGI middleware in front of Streamlit (see ``server.py``).

    * Every HTTP response to a browser without a valid id cookie sets one (the page load
      comes before the websocket, so the websocket handshake carries it).
    * A page request carrying an OAuth callback (``?code=…&state=…`` and the other forms)
      is finished here by ``on_callback(params, browser_id)`` in a worker thread, and
      answered ``303 See Other`` to the same page without the query: the callback URL never
      stays in the browser's history and never reaches the page's scripts.
    """

    def __init__(self, app: ASGIApp, *, on_callback: CallbackHandler) -> None:
        self.app = app
        self.on_callback = on_callback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        browser_id = browser_id_from_cookie_header(_header(scope, b"cookie"))
        issued: str | None = None
        if browser_id is None:
            browser_id = issued = new_browser_id()
        secure = scope.get("scheme") == "https"
        cookie = set_cookie_header(issued, secure=secure) if issued else None
        path = str(scope.get("path", "/")) or "/"
        params = (
            callback_params(scope.get("query_string", b""))
            if scope.get("method") in ("GET", "HEAD") and is_app_page(path)
            else None
        )
        if params is not None:
            await asyncio.to_thread(self.on_callback, params, browser_id)
            root = str(scope.get("root_path", ""))
            await _send_redirect(send, _Redirect(location=f"{root}{path}", set_cookie=cookie))
            return
        if cookie is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: MutableMapping[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _send_redirect(send: Send, redirect: _Redirect) -> None:
    headers = [
        (b"location", redirect.location.encode("latin-1")),
        (b"cache-control", b"no-store"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-length", b"0"),
        *redirect.extra,
    ]
    if redirect.set_cookie:
        headers.append((b"set-cookie", redirect.set_cookie.encode("latin-1")))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


__all__ = [
    "BROWSER_COOKIE",
    "BROWSER_SESSION_TTL_SECONDS",
    "BrowserCookieMiddleware",
    "BrowserSessions",
    "Message",
    "Preferences",
    "StoredConnection",
    "StoredForm",
    "StoredQuery",
    "browser_fingerprint",
    "browser_id_from_cookie_header",
    "callback_params",
    "connection_from_json",
    "connection_to_json",
    "is_app_page",
    "is_oauth_callback",
    "new_browser_id",
    "set_cookie_header",
    "valid_browser_id",
]
