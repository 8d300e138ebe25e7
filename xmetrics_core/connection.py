"""The dashboard's connection logic, kept free of Streamlit so it can be tested alone.

A :class:`Connection` is what a browser session holds once it is signed in: the
credential, the account it belongs to, how it was obtained and which servers it talks
to. Around it live the small pieces the Connect page and the sidebar need:

* :class:`Endpoints`: api.x.com and x.com, or one sandbox base URL for both;
* :func:`configured_credential`: credentials from ``st.secrets["x"]`` or the CLI's
  environment variables (the Streamlit side passes plain mappings in);
* :class:`PendingSignIn`: what an OAuth redirect needs to finish in a *new* session
  (it lives in the server-side ``signin.PendingSignIns``, never in the browser);
* :class:`RememberedConnections`: the opt-in "Remember on this computer" file, 0600;
* :class:`ResultCache`: fetched results per credential fingerprint, IDs and groups,
  with a TTL, shared by the server but keyed so one credential never sees another's;
* labels for the sidebar: auth kind, unlocked groups, rate limit with its reset time.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.credentials import (
    BearerCredential,
    Credential,
    OAuth1Credential,
    OAuth2Credential,
    credential_from_env,
)
from xmetrics_core.models import RateLimitState

X_API_BASE_URL = "https://api.x.com"
X_WEB_BASE_URL = "https://x.com"
OAUTH2_SCOPES: tuple[str, ...] = ("tweet.read", "users.read", "offline.access")
"""What reading Posts and their metrics needs, plus a refresh token (FACTS §4)."""

DEFAULT_APP_URL = "http://localhost:8501/"
CONFIG_DIR_ENV = "XMETRICS_CONFIG_DIR"
REMEMBER_FILE_NAME = "credentials.json"
_REMEMBER_FORMAT = 1


class AuthMethod(StrEnum):
    """How a session got its credential; shown in the sidebar."""

    DEMO = "demo"
    BEARER = "bearer"
    OAUTH1_KEYS = "oauth1_keys"
    OAUTH1_THREE_LEGGED = "oauth1_three_legged"
    OAUTH1_PIN = "oauth1_pin"
    OAUTH2_PKCE = "oauth2_pkce"
    CONFIGURED = "configured"
    REMEMBERED = "remembered"

    @property
    def label(self) -> str:
        """Words for the sidebar ("OAuth 2.0 (PKCE)")."""
        return _METHOD_LABEL[self]


_METHOD_LABEL = {
    AuthMethod.DEMO: "Demo account (OAuth 2.0 PKCE, built-in sandbox)",
    AuthMethod.BEARER: "Bearer token (app-only)",
    AuthMethod.OAUTH1_KEYS: "OAuth 1.0a (pasted keys)",
    AuthMethod.OAUTH1_THREE_LEGGED: "OAuth 1.0a (Sign in with X)",
    AuthMethod.OAUTH1_PIN: "OAuth 1.0a (PIN)",
    AuthMethod.OAUTH2_PKCE: "OAuth 2.0 (PKCE)",
    AuthMethod.CONFIGURED: "Configured credentials",
    AuthMethod.REMEMBERED: "Remembered on this computer",
}

_KIND_LABEL = {
    "bearer": "Bearer token (app-only)",
    "oauth1": "OAuth 1.0a user context",
    "oauth2": "OAuth 2.0 user context",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoints:
    """Where the API and the browser-facing OAuth pages live.

    X splits them (``api.x.com`` for the API and token exchange, ``x.com`` for the
    OAuth 2.0 consent page); the sandbox serves both from one base URL.
    """

    api_base_url: str = X_API_BASE_URL
    web_base_url: str = X_WEB_BASE_URL

    @property
    def oauth2_authorize_url(self) -> str:
        """The consent page the browser is sent to."""
        return f"{self.web_base_url}/i/oauth2/authorize"

    @property
    def oauth2_token_url(self) -> str:
        """Code exchange and refresh."""
        return f"{self.api_base_url}/2/oauth2/token"

    @property
    def is_x(self) -> bool:
        """True when this points at the real X API (requests leave the machine)."""
        return self.api_base_url == X_API_BASE_URL


def endpoints_for(api_base_url: str | None) -> Endpoints:
    """X's endpoints for an empty or ``https://api.x.com`` base, else one base for both.

    Raises ValueError when the text is not an http(s) URL with a host.
    """
    text = (api_base_url or "").strip().rstrip("/")
    if not text or text == X_API_BASE_URL:
        return Endpoints()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"API base URL must look like https://api.x.com or http://127.0.0.1:8787, not {text!r}"
        )
    base = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    return Endpoints(api_base_url=base, web_base_url=base)


def app_base_url(url: str | None) -> str:
    """The app's own base URL (scheme, host, port and ``/``) from ``st.context.url``.

    OAuth callbacks land here. Without a browser (AppTest) there is no URL, and the
    default local address is used.
    """
    if not url:
        return DEFAULT_APP_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return DEFAULT_APP_URL
    return f"{parts.scheme}://{parts.netloc}/"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """Who a user-context credential belongs to (from ``GET /2/users/me``)."""

    id: str
    username: str
    name: str = ""

    @property
    def handle(self) -> str:
        return f"@{self.username}"


@dataclass(frozen=True, kw_only=True)
class Connection:
    """One session's way into the API. ``account`` is None for app-only Bearer tokens."""

    credential: Credential
    method: AuthMethod
    endpoints: Endpoints = field(default_factory=Endpoints)
    account: Account | None = None
    source: str = ""
    """Where a configured credential came from (``st.secrets`` or environment)."""
    connected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    fingerprint: str = ""
    """The credential's salted hash when it connected: the cache key, never the secret.
    It stays the same when an OAuth 2.0 refresh rotates the tokens."""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", self.credential.fingerprint)

    @property
    def account_label(self) -> str:
        """``@demo_user (Demo User)`` or a plain statement for app-only tokens."""
        if self.account is None:
            return "App-only (no user account)"
        if self.account.name and self.account.name != self.account.username:
            return f"{self.account.handle} ({self.account.name})"
        return self.account.handle

    @property
    def auth_label(self) -> str:
        """How it was obtained, and the kind of credential when that differs."""
        kind = _KIND_LABEL.get(str(self.credential.kind), str(self.credential.kind))
        if self.method in (AuthMethod.CONFIGURED, AuthMethod.REMEMBERED):
            where = f" from {self.source}" if self.source else ""
            return f"{kind}{where}"
        return self.method.label

    @property
    def unlocked_groups(self) -> tuple[Group, ...]:
        """The metric groups this credential can be asked for, in catalogue order."""
        allowed = set(self.credential.allowed_groups)
        return tuple(g for g in ALL_GROUPS if g in allowed)

    def with_credential(self, credential: Credential) -> Connection:
        """The same connection after an OAuth 2.0 refresh rotated the tokens."""
        return Connection(
            credential=credential,
            method=self.method,
            endpoints=self.endpoints,
            account=self.account,
            source=self.source,
            connected_at=self.connected_at,
            fingerprint=self.fingerprint,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupOption:
    """One metric group checkbox: enabled, or disabled with the reason."""

    group: Group
    enabled: bool
    reason: str = ""


APP_ONLY_REASON = (
    "needs a user-context sign-in (OAuth 1.0a or OAuth 2.0) of the Post's author; "
    "a Bearer token reads public metrics only"
)


def group_options(credential: Credential) -> tuple[GroupOption, ...]:
    """Every metric group with whether this credential unlocks it and, if not, why."""
    allowed = set(credential.allowed_groups)
    return tuple(
        GroupOption(group=g, enabled=True)
        if g in allowed
        else GroupOption(group=g, enabled=False, reason=APP_ONLY_REASON)
        for g in ALL_GROUPS
    )


def groups_label(groups: tuple[Group, ...]) -> str:
    """``Public, Non-public, Organic, Promoted``."""
    return ", ".join(g.label for g in groups) if groups else "none"


def rate_limit_label(
    state: RateLimitState, *, now: datetime | None = None, tz: tzinfo = UTC
) -> str:
    """``GET /2/tweets: 873 of 900 requests left; resets 14:05 UTC (in 12 min)`` (the time in
    ``tz``, named by :func:`zone_name`), or why it is unknown."""
    if state.remaining is None:
        return "Rate limit: not known yet (no request made)"
    of_limit = f" of {state.limit}" if state.limit is not None else ""
    where = f"{state.endpoint}: " if state.endpoint else ""
    text = f"{where}{state.remaining}{of_limit} requests left"
    if state.reset_at is None:
        return text
    reset = state.reset_at.astimezone(tz)
    current = (now or datetime.now(UTC)).astimezone(UTC)
    minutes = max(0, int((state.reset_at - current).total_seconds() + 59) // 60)
    return f"{text}; resets {reset:%H:%M} {zone_name(tz)} (in {minutes} min)"


def zone_name(tz: tzinfo) -> str:
    """``UTC``, ``Europe/Berlin`` …: how a time zone is named next to a time."""
    key = getattr(tz, "key", None)
    return str(key) if key else str(tz)


# -- credentials from st.secrets or the environment --------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfiguredCredential:
    """A credential found in ``st.secrets`` or the environment, not yet used."""

    credential: Credential
    source: str
    endpoints: Endpoints

    @property
    def label(self) -> str:
        kind = _KIND_LABEL.get(str(self.credential.kind), str(self.credential.kind))
        return f"{kind} from {self.source}"


API_BASE_URL_ENV = "X_API_BASE_URL"


def _secrets_as_env(section: Mapping[str, Any]) -> dict[str, str]:
    """``[x] bearer_token = "…"`` → ``{"X_BEARER_TOKEN": "…"}``: one parser for both."""
    env: dict[str, str] = {}
    for key, value in section.items():
        if isinstance(value, str | int) and str(value).strip():
            name = str(key).strip().upper()
            env[name if name.startswith("X_") else f"X_{name}"] = str(value).strip()
    return env


def configured_credential(
    *, secrets: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> ConfiguredCredential | None:
    """Credentials from ``st.secrets["x"]`` first, else the CLI's environment variables.

    ``secrets`` is the ``[x]`` table of ``.streamlit/secrets.toml`` as a mapping (keys are
    the environment names without ``X_``, lower case: ``bearer_token``, ``consumer_key`` …);
    ``api_base_url`` / ``X_API_BASE_URL`` points at a sandbox instead of api.x.com.
    Returns None when neither holds a complete credential.
    """
    for source, env in (
        ("st.secrets", _secrets_as_env(secrets or {})),
        ("environment variables", dict(environ)),
    ):
        credential = credential_from_env(env)
        if credential is not None:
            return ConfiguredCredential(
                credential=credential,
                source=source,
                endpoints=endpoints_for(env.get(API_BASE_URL_ENV)),
            )
    return None


# -- OAuth sign-ins waiting for their redirect ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PendingSignIn:
    """What the redirect back into the app needs to finish a sign-in.

    Kept server-side in ``signin.PendingSignIns`` under the OAuth 2.0 ``state`` (or the
    OAuth 1.0a request token), because the redirect starts a new browser session.
    ``browser`` is the fingerprint of the browser that started it (empty: not bound).
    ``repr()`` shows no secret.
    """

    method: AuthMethod
    endpoints: Endpoints
    client_id: str = field(default="", repr=False)
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = ""
    scopes: tuple[str, ...] = OAUTH2_SCOPES
    code_verifier: str = field(default="", repr=False)
    consumer_key: str = field(default="", repr=False)
    consumer_secret: str = field(default="", repr=False)
    request_token: str = field(default="", repr=False)
    request_token_secret: str = field(default="", repr=False)
    remember: bool = False
    browser: str = field(default="", repr=False)


# -- "Remember on this computer" -----------------------------------------------------------------


def default_config_dir(environ: Mapping[str, str]) -> Path:
    """``$XMETRICS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/xmetrics``, else ``~/.config/xmetrics``."""
    if environ.get(CONFIG_DIR_ENV):
        return Path(environ[CONFIG_DIR_ENV])
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"]) / "xmetrics"
    return Path.home() / ".config" / "xmetrics"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def credential_to_json(credential: Credential) -> dict[str, Any]:
    """The credential's fields as JSON values (secrets included: for the 0600 file only)."""
    if isinstance(credential, BearerCredential):
        return {"kind": "bearer", "token": credential.token}
    if isinstance(credential, OAuth1Credential):
        return {
            "kind": "oauth1",
            "consumer_key": credential.consumer_key,
            "consumer_secret": credential.consumer_secret,
            "access_token": credential.access_token,
            "access_token_secret": credential.access_token_secret,
        }
    return {
        "kind": "oauth2",
        "access_token": credential.access_token,
        "refresh_token": credential.refresh_token,
        "expires_at": _iso(credential.expires_at),
        "client_id": credential.client_id,
        "client_secret": credential.client_secret,
        "scope": list(credential.scope),
    }


def credential_from_json(data: Mapping[str, Any]) -> Credential:
    """The inverse of :func:`credential_to_json`; ValueError on anything malformed."""
    try:
        kind = data["kind"]
        if kind == "bearer":
            return BearerCredential(token=str(data["token"]))
        if kind == "oauth1":
            return OAuth1Credential(
                consumer_key=str(data["consumer_key"]),
                consumer_secret=str(data["consumer_secret"]),
                access_token=str(data["access_token"]),
                access_token_secret=str(data["access_token_secret"]),
            )
        if kind == "oauth2":
            expires = data.get("expires_at")
            return OAuth2Credential(
                access_token=str(data["access_token"]),
                refresh_token=data.get("refresh_token"),
                expires_at=datetime.fromisoformat(expires) if expires else None,
                client_id=data.get("client_id"),
                client_secret=data.get("client_secret"),
                scope=tuple(data.get("scope") or ()),
            )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"remembered credential is missing {exc}") from None
    raise ValueError(f"unknown credential kind {data.get('kind')!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RememberedConnection:
    """One entry of the remember-me file, offered as "Reconnect as @user"."""

    connection: Connection

    @property
    def label(self) -> str:
        return self.connection.account_label


class RememberedConnections:
    """The opt-in remember-me file: ``<config dir>/credentials.json``, mode 0600.

    It holds at most one connection per account (and one app-only token). The file is
    written to a temporary file created 0600 and renamed over the old one, so it is never
    readable by others, not even for a moment.
    """

    def __init__(self, *, config_dir: Path) -> None:
        self._dir = config_dir
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._dir / REMEMBER_FILE_NAME

    def load(self) -> tuple[RememberedConnection, ...]:
        """Every remembered connection; an unreadable or malformed file counts as empty."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ()
        if not isinstance(raw, dict) or raw.get("format") != _REMEMBER_FORMAT:
            return ()
        found: list[RememberedConnection] = []
        for entry in raw.get("connections", []):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                found.append(RememberedConnection(connection=_connection_from_json(entry)))
        return tuple(found)

    def save(self, connection: Connection) -> None:
        """Add or replace the entry for this connection's account."""
        with self._lock:
            keep = [
                r.connection
                for r in self.load()
                if _remember_key(r.connection) != _remember_key(connection)
            ]
            self._write([*keep, connection])

    def forget(self, connection: Connection) -> None:
        """Remove this connection's account from the file (the file stays, maybe empty)."""
        with self._lock:
            keep = [
                r.connection
                for r in self.load()
                if _remember_key(r.connection) != _remember_key(connection)
            ]
            if self.path.exists():
                self._write(keep)

    def _write(self, connections: list[Connection]) -> None:
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = json.dumps(
            {
                "format": _REMEMBER_FORMAT,
                "connections": [_connection_to_json(c) for c in connections],
            },
            indent=2,
        ).encode("utf-8")
        temporary = self._dir / f".{REMEMBER_FILE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, body)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, self.path)


def _remember_key(connection: Connection) -> tuple[str, str]:
    account = connection.account.id if connection.account else ""
    return (connection.endpoints.api_base_url, account or str(connection.credential.kind))


def _connection_to_json(connection: Connection) -> dict[str, Any]:
    account = connection.account
    return {
        "method": connection.method.value,
        "api_base_url": connection.endpoints.api_base_url,
        "web_base_url": connection.endpoints.web_base_url,
        "account": None
        if account is None
        else {"id": account.id, "username": account.username, "name": account.name},
        "credential": credential_to_json(connection.credential),
    }


def _connection_from_json(data: Mapping[str, Any]) -> Connection:
    account = data.get("account")
    return Connection(
        credential=credential_from_json(data["credential"]),
        method=AuthMethod(data.get("method", AuthMethod.REMEMBERED.value)),
        endpoints=Endpoints(
            api_base_url=str(data["api_base_url"]), web_base_url=str(data["web_base_url"])
        ),
        account=None
        if not account
        else Account(
            id=str(account["id"]), username=str(account["username"]), name=str(account["name"])
        ),
        source="this computer",
    )


# -- results per credential ------------------------------------------------------------------

V = TypeVar("V")


class ResultCache(Generic[V]):
    """A thread-safe, bounded, expiring map shared by every session of one server.

    Keys always start with the credential fingerprint, so a session can only reach
    entries made with the same credential. Values must be immutable (they are shared,
    not copied): ``FetchResult`` is.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 15 * 60,
        max_entries: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The live value under ``key``, or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, value = entry
            if self._clock() - stored_at > self._ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value``; the least recently used entry goes when the cache is full."""
        with self._lock:
            self._entries[key] = (self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        """Forget one entry (the Refresh button)."""
        with self._lock:
            self._entries.pop(key, None)

    def discard_credential(self, fingerprint: str) -> None:
        """Forget every entry made with one credential (on disconnect)."""
        with self._lock:
            for key in [
                k for k in self._entries if isinstance(k, tuple) and k[:1] == (fingerprint,)
            ]:
                del self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def may_load_in_browser(url: str | None, endpoints: Endpoints) -> bool:
    """Whether the browser may fetch ``url`` (a preview image) for this connection.

    Loopback URLs always; anything else only when the user connected the real X API,
    so the Demo account and sandboxes never make the browser leave the machine.
    """
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False
    return parts.hostname in LOOPBACK_HOSTS or endpoints.is_x
