"""Sandbox settings and its clock.

Every place where the sources disagree about X's behaviour is a setting here, with the
*captured* behaviour as default (see ``/work/shared/x-api/FACTS.md`` §2, §3, §9 and
``ANALYTICS.md``):

* ``missing_single_post_status=200``: a missing ``GET /2/tweets/:id`` answered 200 with an
  errors-only body in every capture; current docs say 404.
* ``problem_host="api.twitter.com"``: every capture uses it; docs and spec 2.167 use api.x.com.
* ``omit_zero_private_keys=True``: a captured owner response left ``url_link_clicks`` out for a
  Post without a URL. With True a zero ``url_link_clicks`` is omitted from the non-public,
  organic and promoted groups; with False every sub-key is present.
* ``include_bookmark_count=True`` (docs, spec), ``include_engagements=False`` (captured Field
  Authorization Errors list three non-public sub-fields; True adds ``engagements`` and then four).
* ``unpromoted_promoted_metrics="omit"``: the promoted group is absent for a never-promoted owned
  Post; ``"empty"`` reproduces the docs' "known issue" (the Post silently leaves ``data``).
* ``rate_limits``: per endpoint ``(app_limit, user_limit)`` per 15-minute window, default the
  2026 figures of X's rate-limit page (FACTS §3); ``None`` means the endpoint refuses that kind
  of caller (``/2/users/me`` and the analytics endpoints take no app-only Bearer,
  ``/2/usage/tweets`` takes nothing else).
* ``tier``: ``"pay-per-use"`` (default) refuses ``/2/tweets/analytics`` and
  ``/2/media/analytics`` with X's ``client-forbidden`` problem (``reason: client-not-enrolled``);
  ``"enterprise"`` serves them (ANALYTICS.md: both are Enterprise only).
* billing (FACTS §3): every Post a lookup or timeline returns (``data`` and ``includes.tweets``)
  is billed once per UTC day of the sandbox clock. ``project_cap`` Posts per calendar month
  (default pay-per-use's 3,000,000), then Post reads answer 429 ``usage-capped``;
  ``credits=None`` is unlimited, otherwise every billed Post costs one credit and at zero every
  v2 call but ``/2/usage/tweets`` answers 402 ``CreditsDepleted``.
  ``usage_counts_as_strings=True`` renders ``/2/usage/tweets`` counts as strings, as X's own
  example response does (the spec says integers).
* ``analytics_max_days=28``: the longest ``start_time``..``end_time`` span of one analytics
  request (not documented for v2; X's predecessor Engagement API allowed four weeks).
* ``new_post_interval_hours=4``: after the start of the sandbox's first UTC day the demo
  account posts about every four hours.

``host``/``port`` say where the server listens (``port=0``: an ephemeral port).

The :class:`SandboxClock` keeps two times:

* **world time** (:meth:`SandboxClock.now`): the moment the API's data reflects (metrics, which
  Posts exist, the 30-day private window, analytics buckets, usage days). It starts at
  ``start`` and runs at ``speed`` sandbox seconds per real second; ``speed=0`` holds it still
  (the in-process default), :meth:`~SandboxClock.freeze`, :meth:`~SandboxClock.run` and
  :meth:`~SandboxClock.set` change that while the sandbox runs.
* **protocol time** (:meth:`SandboxClock.protocol_timestamp`): the real time plus every
  :meth:`~SandboxClock.advance`. Tokens, authorization codes, OAuth 1.0a timestamps and
  rate-limit windows run on it, so a world held still, set to 2026-12-01 or run 3600× faster
  never expires a token early or sends an ``x-rate-limit-reset`` the client's clock cannot use.

:meth:`SandboxClock.advance` moves both: "time passes" for tests of expiry and of growth alike.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

#: Endpoint keys used by the rate limiter and the settings.
TWEETS_LOOKUP = "GET /2/tweets"
TWEET_BY_ID = "GET /2/tweets/:id"
USER_TWEETS = "GET /2/users/:id/tweets"
USERS_ME = "GET /2/users/me"
TWEETS_ANALYTICS = "GET /2/tweets/analytics"
MEDIA_ANALYTICS = "GET /2/media/analytics"
USAGE_TWEETS = "GET /2/usage/tweets"

Tier = Literal["pay-per-use", "enterprise"]
TIERS: tuple[Tier, ...] = ("pay-per-use", "enterprise")

#: ``(app_limit, user_limit)`` per 15-minute window (X's rate-limit page, 2026; the media
#: analytics endpoint is not in that table and gets the Post analytics figure);
#: ``None`` means the endpoint refuses that kind of caller.
DEFAULT_RATE_LIMITS: Mapping[str, tuple[int | None, int | None]] = MappingProxyType(
    {
        TWEETS_LOOKUP: (3500, 5000),
        TWEET_BY_ID: (450, 900),
        USER_TWEETS: (10000, 900),
        USERS_ME: (None, 75),
        TWEETS_ANALYTICS: (None, 300),
        MEDIA_ANALYTICS: (None, 300),
        USAGE_TWEETS: (50, None),
    }
)

#: The figures the 2022 recordings carry (``x-rate-limit-limit``), for tests of old behaviour.
CAPTURED_2022_RATE_LIMITS: Mapping[str, tuple[int | None, int | None]] = MappingProxyType(
    {
        TWEETS_LOOKUP: (300, 900),
        TWEET_BY_ID: (300, 900),
        USER_TWEETS: (1500, 900),
        USERS_ME: (None, 75),
    }
)

#: OAuth 2.0 user-token scopes each endpoint requires (the spec's ``security`` sections).
REQUIRED_SCOPES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        TWEETS_LOOKUP: frozenset({"tweet.read", "users.read"}),
        TWEET_BY_ID: frozenset({"tweet.read", "users.read"}),
        USER_TWEETS: frozenset({"tweet.read", "users.read"}),
        USERS_ME: frozenset({"tweet.read", "users.read"}),
        TWEETS_ANALYTICS: frozenset({"tweet.read", "users.read"}),
        MEDIA_ANALYTICS: frozenset({"tweet.read"}),
    }
)

#: Pay-per-use's monthly Post-read cap (FACTS §3, raised from 2M on 2026-08-13).
PAY_PER_USE_MONTHLY_CAP = 3_000_000


@dataclass(frozen=True, kw_only=True)
class SandboxSettings:
    """Behaviour switches of the sandbox; defaults reproduce the captured X behaviour."""

    host: str = "127.0.0.1"
    port: int = 0
    accounts: int = 24
    demo_posts: int = 60
    missing_single_post_status: Literal[200, 404] = 200
    problem_host: str = "api.twitter.com"
    omit_zero_private_keys: bool = True
    include_bookmark_count: bool = True
    include_engagements: bool = False
    unpromoted_promoted_metrics: Literal["omit", "empty"] = "omit"
    access_token_lifetime: int = 7200
    auth_code_lifetime: int = 30
    window_seconds: int = 900
    rate_limits: Mapping[str, tuple[int | None, int | None]] = field(
        default_factory=lambda: DEFAULT_RATE_LIMITS
    )
    tier: Tier = "pay-per-use"
    credits: int | None = None
    project_cap: int = PAY_PER_USE_MONTHLY_CAP
    usage_counts_as_strings: bool = True
    analytics_max_days: int = 28
    new_post_interval_hours: float = 4.0
    api_version: str = "2.166"
    keep_alive_idle_seconds: float = 15.0
    """How long a kept-alive connection may sit idle before the sandbox closes it."""

    def __post_init__(self) -> None:
        if self.accounts < 4:
            raise ValueError(
                "the sandbox needs at least 4 accounts (demo, protected, suspended, one more)"
            )
        if self.demo_posts < 30:
            raise ValueError("the demo account needs at least 30 Posts to cover every case")
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {self.tier!r}")
        if self.credits is not None and self.credits < 0:
            raise ValueError("credits cannot be negative")
        if self.project_cap < 0:
            raise ValueError("project_cap cannot be negative")
        if self.new_post_interval_hours <= 0:
            raise ValueError("new_post_interval_hours must be positive")
        if self.keep_alive_idle_seconds <= 0:
            raise ValueError("keep_alive_idle_seconds must be positive")
        merged = dict(DEFAULT_RATE_LIMITS)
        merged.update(self.rate_limits)
        object.__setattr__(self, "rate_limits", MappingProxyType(merged))

    def rate_limit_for(self, endpoint: str, *, user_context: bool) -> int | None:
        """The window's request budget for one endpoint and caller kind (None: refused)."""
        app_limit, user_limit = self.rate_limits[endpoint]
        return user_limit if user_context else app_limit


def settings_to_json(settings: SandboxSettings) -> dict[str, object]:
    """``settings`` as a JSON object (the shared sandbox's ``/sandbox/world``)."""
    data = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    data["rate_limits"] = {name: list(limits) for name, limits in settings.rate_limits.items()}
    return data


def settings_from_json(data: Mapping[str, Any]) -> SandboxSettings:
    """The settings :func:`settings_to_json` wrote (ValueError/TypeError when malformed;
    names this version does not know are ignored)."""
    known = {f.name for f in dataclasses.fields(SandboxSettings)}
    values = {name: value for name, value in data.items() if name in known}
    limits = values.get("rate_limits", {})
    if not isinstance(limits, Mapping):
        raise TypeError("rate_limits is not an object")
    values["rate_limits"] = {name: tuple(pair) for name, pair in limits.items()}
    return SandboxSettings(**values)


class SandboxClock:
    """World time (``start``, running at ``speed``) and protocol time (real). Thread-safe.

    ``speed`` is sandbox seconds per real second: 0 holds the world still (the in-process
    default: reproducible tests and screenshots), 1 follows real time, 3600 lives an hour per
    second. See the module docstring for which time drives what.
    """

    def __init__(self, *, start: datetime | None = None, speed: float = 0.0) -> None:
        if speed < 0:
            raise ValueError("the sandbox clock's speed cannot be negative")
        self._lock = threading.Lock()
        moment = start if start is not None else datetime.now(UTC)
        if moment.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime (UTC)")
        self._base = moment.timestamp()
        self._base_monotonic = time.monotonic()
        self._speed = float(speed)
        self._advanced = 0.0

    # -- world time -------------------------------------------------------------------------
    def timestamp(self) -> float:
        """World time as epoch seconds."""
        with self._lock:
            return self._base + self._speed * (time.monotonic() - self._base_monotonic)

    def now(self) -> datetime:
        """World time: the moment the API's data reflects (UTC, aware)."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    @property
    def speed(self) -> float:
        """Sandbox seconds per real second (0: held still)."""
        with self._lock:
            return self._speed

    @property
    def frozen(self) -> bool:
        """True while world time holds still."""
        return self.speed == 0

    def _rebase(self, *, base: float | None = None, speed: float | None = None) -> None:
        # caller holds the lock
        current = self._base + self._speed * (time.monotonic() - self._base_monotonic)
        self._base = current if base is None else base
        self._base_monotonic = time.monotonic()
        if speed is not None:
            self._speed = speed

    def freeze(self) -> None:
        """Hold world time where it is (protocol time keeps running)."""
        with self._lock:
            self._rebase(speed=0.0)

    def run(self, speed: float = 1.0) -> None:
        """Let world time run on from where it is, at ``speed`` sandbox seconds per second."""
        if speed < 0:
            raise ValueError("the sandbox clock's speed cannot be negative")
        with self._lock:
            self._rebase(speed=float(speed))

    def set(self, moment: datetime) -> None:
        """Put world time at ``moment`` (either direction); speed and protocol time unchanged.

        Every value is a pure function of time, so setting the clock back shows the world as it
        was then (Posts created later do not exist yet).
        """
        if moment.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime (UTC)")
        with self._lock:
            self._rebase(base=moment.timestamp())

    def advance(self, seconds: float) -> None:
        """Time passes: world *and* protocol time jump forward (codes, tokens, rate-limit
        windows expire; Posts grow)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward (use set() to go back)")
        with self._lock:
            self._rebase()
            self._base += seconds
            self._advanced += seconds

    # -- protocol time ----------------------------------------------------------------------
    def protocol_timestamp(self) -> float:
        """Real time plus every :meth:`advance`: tokens, codes, OAuth 1.0a timestamps and
        rate-limit windows run on it (epoch seconds)."""
        with self._lock:
            advanced = self._advanced
        return time.time() + advanced

    def protocol_now(self) -> datetime:
        """:meth:`protocol_timestamp` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.protocol_timestamp(), tz=UTC)


def start_of_utc_day(moment: datetime) -> datetime:
    """00:00:00 UTC of ``moment``'s UTC day: the demo world's anchor."""
    day = moment.astimezone(UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def utc_day_after(moment: datetime, days: int = 1) -> datetime:
    """The start of the UTC day ``days`` after ``moment``'s."""
    return start_of_utc_day(moment) + timedelta(days=days)
