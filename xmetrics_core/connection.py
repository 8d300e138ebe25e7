"""The dashboard's connection logic, kept free of Streamlit so it can be tested alone.

A :class:`Connection` is what a browser session holds once it is signed in: the
credential, the account it belongs to, how it was obtained and which servers it talks
to. Around it live the small pieces the Connect page and the sidebar need:

* :class:`Endpoints`: api.x.com and x.com, or one sandbox base URL for both;
* :func:`configured_credential`: credentials from ``st.secrets["x"]`` or the CLI's
  environment variables (the Streamlit side passes plain mappings in);
* :class:`PendingSignIn`: what an OAuth redirect needs to finish in a *new* session
  (it lives in the server-side ``signin.PendingSignIns``, never in the browser);
* labels for the sidebar: auth kind, unlocked groups, rate limit with its reset time;
* :func:`may_load_in_browser`: which preview images the browser may fetch.

The remember-me file is :mod:`xmetrics_core.remembered`; the server-side caches are
:mod:`xmetrics_core.state`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.credentials import Credential, credential_from_env
from xmetrics_core.defaults import OAUTH2_SCOPES as OAUTH2_SCOPES
from xmetrics_core.defaults import X_API_BASE_URL, X_WEB_BASE_URL, is_loopback
from xmetrics_core.errors import ConfigurationError
from xmetrics_core.models import RateLimitState

DEFAULT_APP_URL = "http://localhost:8501/"


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

    Raises :class:`~xmetrics_core.errors.ConfigurationError` when the text is not an http(s)
    URL with a host.
    """
    text = (api_base_url or "").strip().rstrip("/")
    if not text or text == X_API_BASE_URL:
        return Endpoints()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
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
    return is_loopback(url) or endpoints.is_x
