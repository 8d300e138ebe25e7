"""What a credential may read, and why not: OAuth 2.0 scopes, Enterprise analytics, usage.

Three questions the dashboard and the CLI ask before (or after) calling X, answered in words a
user acts on:

* **Scopes.** :data:`ENDPOINT_SCOPES` lists the OAuth 2.0 scopes each endpoint xmetrics calls
  needs (the spec's ``security`` sections); :data:`~xmetrics_core.defaults.OAUTH2_SCOPES`, what
  the sign-in asks for, covers them all. :func:`missing_scopes` compares them with what X
  granted (the token response's ``scope``), :func:`granted_scope_warning` says so right after a
  sign-in, and :func:`explain_forbidden` turns any 403 into a sentence ("reconnect and allow
  reading Posts" for a missing scope).
* **Enterprise analytics.** ``GET /2/tweets/analytics`` and ``GET /2/media/analytics`` serve
  Enterprise apps only (ANALYTICS.md). :class:`AnalyticsAccess` is what is known about a
  credential; :class:`AccessMemory` remembers it per credential fingerprint (never the token)
  in a :class:`~xmetrics_core.state.StateStore` of ``bytes``, so a Redis store shared by
  replicas can hold it too, and a pay-per-use app is refused once, not on every fetch.
  :func:`analytics_explanation` is the text to show.
* **Usage.** ``GET /2/usage/tweets`` takes the app's Bearer token only:
  :func:`usage_unavailable_reason` says why a connection cannot show spending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from xmetrics_core.credentials import Credential, OAuth2Credential
from xmetrics_core.defaults import OAUTH2_SCOPES
from xmetrics_core.errors import Forbidden, ForbiddenReason
from xmetrics_core.state import MemoryStateStore, StateStore

# -- scopes -----------------------------------------------------------------------------------

TWEETS_PATH: Final = "/2/tweets"
USERS_ME_PATH: Final = "/2/users/me"
USER_TWEETS_PATH: Final = "/2/users/:id/tweets"
TWEETS_ANALYTICS_PATH: Final = "/2/tweets/analytics"
MEDIA_ANALYTICS_PATH: Final = "/2/media/analytics"
USAGE_TWEETS_PATH: Final = "/2/usage/tweets"

#: OAuth 2.0 scopes per endpoint xmetrics calls (SPEC166 ``security``; ANALYTICS.md).
#: ``/2/usage/tweets`` takes no user token at all (app-only Bearer).
ENDPOINT_SCOPES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        TWEETS_PATH: frozenset({"tweet.read", "users.read"}),
        USERS_ME_PATH: frozenset({"tweet.read", "users.read"}),
        USER_TWEETS_PATH: frozenset({"tweet.read", "users.read"}),
        TWEETS_ANALYTICS_PATH: frozenset({"tweet.read", "users.read"}),
        MEDIA_ANALYTICS_PATH: frozenset({"tweet.read"}),
    }
)

#: What each scope lets xmetrics do, in a user's words (shown when one is missing).
SCOPE_PURPOSES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "tweet.read": "reading Posts",
        "users.read": "reading your account",
        "offline.access": "staying connected (refreshing the token)",
    }
)


def needed_scopes(paths: Iterable[str] | None = None) -> tuple[str, ...]:
    """The scopes ``paths`` need (default: every endpoint xmetrics calls), in
    :data:`OAUTH2_SCOPES` order, then any other alphabetically."""
    wanted = set().union(*(ENDPOINT_SCOPES.get(p, frozenset()) for p in paths or ENDPOINT_SCOPES))
    ordered = [s for s in OAUTH2_SCOPES if s in wanted]
    return (*ordered, *sorted(wanted - set(ordered)))


def missing_scopes(credential: Credential, paths: Iterable[str] | None = None) -> tuple[str, ...]:
    """The scopes ``paths`` need that an OAuth 2.0 credential was not granted.

    Empty for OAuth 1.0a and Bearer credentials (no scopes), and for an OAuth 2.0 credential
    whose granted scopes are unknown (a token from the environment): then only X's 403 tells.
    """
    if not isinstance(credential, OAuth2Credential) or not credential.scope:
        return ()
    granted = set(credential.scope)
    return tuple(s for s in needed_scopes(paths) if s not in granted)


def scope_advice(missing: Iterable[str] = ("tweet.read", "users.read")) -> str:
    """``reconnect and allow reading Posts and reading your account (OAuth 2.0 scopes
    tweet.read, users.read)``: what to do about missing scopes."""
    scopes = list(dict.fromkeys(missing)) or ["tweet.read", "users.read"]
    purposes = [SCOPE_PURPOSES.get(s, s) for s in scopes]
    words = " and ".join(purposes) if len(purposes) <= 2 else ", ".join(purposes)
    return f"reconnect and allow {words} (OAuth 2.0 scopes {', '.join(scopes)})"


def granted_scope_warning(credential: Credential) -> str | None:
    """After an OAuth 2.0 sign-in: a sentence when X granted fewer scopes than xmetrics asked
    for (:data:`OAUTH2_SCOPES`), else None."""
    if not isinstance(credential, OAuth2Credential) or not credential.scope:
        return None
    missing = [s for s in OAUTH2_SCOPES if s not in credential.scope]
    if not missing:
        return None
    return f"X granted this sign-in fewer permissions than xmetrics needs: {scope_advice(missing)}."


def explain_forbidden(
    error: Forbidden, *, credential: Credential | None = None, path: str | None = None
) -> str:
    """A 403 in words a user acts on (a full sentence, never a token).

    A missing scope names the scopes ``path`` needs that ``credential`` lacks when X told us
    what it granted, else the usual pair; a refused access level, a credential of the wrong
    kind and any other 403 each get their own advice.
    """
    if error.reason is ForbiddenReason.SCOPE:
        paths = [path] if path else None
        missing = missing_scopes(credential, paths) if credential else ()
        if not missing and paths and path in ENDPOINT_SCOPES:
            missing = needed_scopes(paths)
        return f"X refused this sign-in's permissions (403): {scope_advice(missing or ())}."
    if error.reason is ForbiddenReason.ACCESS_LEVEL:
        if path in (TWEETS_ANALYTICS_PATH, MEDIA_ANALYTICS_PATH):
            return analytics_explanation(AnalyticsAccess.NOT_ENROLLED)
        detail = str(error.problem.get("detail") or "").strip()
        return (
            "X refused this request (403): the X app's access level does not include it"
            + (f" ({detail})" if detail else "")
            + "."
        )
    if error.reason is ForbiddenReason.AUTHENTICATION:
        return (
            "X refused this kind of credential here (403): use a user sign-in (OAuth 1.0a or "
            "OAuth 2.0) for Posts and analytics, the app's Bearer token for usage."
        )
    return (
        f"X refused this request for this credential (403): {error.message}. "
        "Reconnect, or check the X app's permissions in the developer portal."
    )


# -- Enterprise analytics ---------------------------------------------------------------------


class AnalyticsAccess(StrEnum):
    """What is known about a credential's access to the Enterprise analytics endpoints."""

    UNKNOWN = "unknown"
    """Not asked yet."""
    AVAILABLE = "available"
    """X answered an analytics request (the app has Enterprise access)."""
    NOT_ENROLLED = "not_enrolled"
    """X refused with ``client-forbidden`` / ``client-not-enrolled`` (a pay-per-use app)."""
    USER_CONTEXT_REQUIRED = "user_context_required"
    """An app-only Bearer token: X serves analytics to the author's user sign-in only."""

    @property
    def available(self) -> bool:
        return self is AnalyticsAccess.AVAILABLE


#: The explanation for a pay-per-use (or otherwise not enrolled) app (issue 11's words).
NOT_ENROLLED_EXPLANATION: Final = (
    "X serves hourly analytics to Enterprise apps only; xmetrics builds curves from its own "
    "snapshots instead."
)
USER_CONTEXT_EXPLANATION: Final = (
    "X serves hourly analytics only to a user sign-in (OAuth 1.0a or OAuth 2.0) of the Posts' "
    "author, and to Enterprise apps only; an app-only Bearer token cannot read them. xmetrics "
    "builds curves from its own snapshots instead."
)


def analytics_explanation(access: AnalyticsAccess) -> str:
    """The sentence to show when hourly analytics are not available ('' when they are, or
    when nothing is known yet)."""
    if access is AnalyticsAccess.NOT_ENROLLED:
        return NOT_ENROLLED_EXPLANATION
    if access is AnalyticsAccess.USER_CONTEXT_REQUIRED:
        return USER_CONTEXT_EXPLANATION
    return ""


def access_without_asking(credential: Credential) -> AnalyticsAccess | None:
    """What the credential's kind alone decides (an app-only token never gets analytics), or
    None when only X can tell."""
    return None if credential.is_user_context else AnalyticsAccess.USER_CONTEXT_REQUIRED


#: How long a detected access level is remembered: an app can be moved to Enterprise, so it
#: is asked again a day later (one refused request a day at most).
ACCESS_TTL_SECONDS: Final = 24 * 60 * 60


class AccessMemory:
    """Remembered :class:`AnalyticsAccess` per credential fingerprint.

    ``store`` is any :class:`~xmetrics_core.state.StateStore` of ``bytes`` (default: an
    in-process :class:`~xmetrics_core.state.MemoryStateStore`; a Redis one is shared by
    replicas). Keys are ``analytics-access:<fingerprint>``: the salted hash, never the token.
    Only definite answers are kept (``AVAILABLE``, ``NOT_ENROLLED``); a miss is ``UNKNOWN``.
    Pass the connection's fingerprint (it stays the same when an OAuth 2.0 refresh rotates
    the token; the credential's own changes on every refresh).
    """

    KEY_PREFIX: Final = "analytics-access:"

    def __init__(
        self,
        *,
        store: StateStore[bytes] | None = None,
        ttl_seconds: float = ACCESS_TTL_SECONDS,
    ) -> None:
        self._store: StateStore[bytes] = MemoryStateStore() if store is None else store
        self._ttl = ttl_seconds

    def get(self, fingerprint: str) -> AnalyticsAccess:
        """What was detected for this credential, or ``UNKNOWN``."""
        raw = self._store.get(self.KEY_PREFIX + fingerprint)
        if raw is None:
            return AnalyticsAccess.UNKNOWN
        try:
            return AnalyticsAccess(raw.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return AnalyticsAccess.UNKNOWN

    def remember(self, fingerprint: str, access: AnalyticsAccess) -> None:
        """Keep a definite answer for the TTL (``UNKNOWN`` forgets)."""
        if access is AnalyticsAccess.UNKNOWN:
            self.forget(fingerprint)
            return
        self._store.put(self.KEY_PREFIX + fingerprint, access.value.encode("ascii"), self._ttl)

    def forget(self, fingerprint: str) -> None:
        """Ask X again next time (disconnect, or "check again")."""
        self._store.delete(self.KEY_PREFIX + fingerprint)


# -- usage ------------------------------------------------------------------------------------

USAGE_NEEDS_APP_BEARER: Final = (
    "X reports what the project has spent to the app's Bearer token only (GET /2/usage/tweets); "
    "this sign-in does not know it. Add the app's Bearer token (X_BEARER_TOKEN, or bearer_token "
    "in the [x] secrets) to see spending."
)


def usage_unavailable_reason(credential: Credential | None) -> str | None:
    """None when ``credential`` is the app's Bearer token (it can read usage); otherwise why
    spending cannot be shown. OAuth 1.0a keys can obtain the Bearer token
    (:func:`xmetrics_core.usage.app_bearer_for`), so callers try that first."""
    if credential is not None and credential.kind == "bearer":
        return None
    return USAGE_NEEDS_APP_BEARER
