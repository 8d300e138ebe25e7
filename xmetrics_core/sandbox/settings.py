"""Sandbox settings and its clock.

Every place where the sources disagree about X's behaviour is a setting here, with the
*captured* behaviour as default (see ``/work/shared/x-api/FACTS.md`` §2, §3, §9):

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
* rate limits per endpoint ``(app_limit, user_limit)`` per 15-minute window default to the
  captured/legacy numbers; ``credits=None`` is unlimited, otherwise every Post served costs one
  credit and at zero every v2 call answers 402 ``CreditsDepleted``.

``host``/``port`` say where the server listens (``port=0``: an ephemeral port).

The :class:`SandboxClock` is the sandbox's notion of "now": it starts at ``start_sandbox(now=...)``
(the real time when None), runs with real time, and tests can jump it forward with
:meth:`SandboxClock.advance` to expire authorization codes, tokens and rate-limit windows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Literal

#: Endpoint keys used by the rate limiter and the settings.
TWEETS_LOOKUP = "GET /2/tweets"
TWEET_BY_ID = "GET /2/tweets/:id"
USER_TWEETS = "GET /2/users/:id/tweets"
USERS_ME = "GET /2/users/me"

#: ``(app_limit, user_limit)`` per window; ``None`` means the endpoint refuses that auth kind.
DEFAULT_RATE_LIMITS: Mapping[str, tuple[int | None, int]] = MappingProxyType(
    {
        TWEETS_LOOKUP: (300, 900),
        TWEET_BY_ID: (300, 900),
        USER_TWEETS: (1500, 900),
        USERS_ME: (None, 75),
    }
)


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
    rate_limits: Mapping[str, tuple[int | None, int]] = field(
        default_factory=lambda: DEFAULT_RATE_LIMITS
    )
    credits: int | None = None
    api_version: str = "2.166"

    def __post_init__(self) -> None:
        if self.accounts < 4:
            raise ValueError(
                "the sandbox needs at least 4 accounts (demo, protected, suspended, one more)"
            )
        if self.demo_posts < 30:
            raise ValueError("the demo account needs at least 30 Posts to cover every case")
        merged = dict(DEFAULT_RATE_LIMITS)
        merged.update(self.rate_limits)
        object.__setattr__(self, "rate_limits", MappingProxyType(merged))

    def rate_limit_for(self, endpoint: str, *, user_context: bool) -> int | None:
        """The window's request budget for one endpoint and auth kind."""
        app_limit, user_limit = self.rate_limits[endpoint]
        return user_limit if user_context else app_limit


class SandboxClock:
    """Real time shifted to start at ``start`` and advanced by tests on demand. Thread-safe."""

    def __init__(self, *, start: datetime | None = None) -> None:
        real_now = datetime.now(UTC)
        self._lock = threading.Lock()
        self._start = (start or real_now).astimezone(UTC)
        self._started_monotonic = time.monotonic()
        self._advanced = 0.0

    def now(self) -> datetime:
        """The sandbox's current time (UTC, aware)."""
        with self._lock:
            elapsed = time.monotonic() - self._started_monotonic + self._advanced
        return self._start + timedelta(seconds=elapsed)

    def timestamp(self) -> float:
        """``now()`` as epoch seconds."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        """Jump forward (codes, tokens and rate-limit windows expire accordingly)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._advanced += seconds
