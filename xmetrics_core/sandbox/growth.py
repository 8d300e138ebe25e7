"""How a sandbox Post's counts grow with time: curves, totals and the counters at one moment.

Pure functions of a Post's :class:`Growth` parameters and its age in seconds; ``world.py``
draws the parameters from the seed and evaluates them at the sandbox clock's world time.

* Organic counts follow :func:`organic_fraction`: an Erlang-2 rise-and-decay (hourly counts peak
  ``fast_hours`` after posting, most of the total arrives within a day or two) plus an
  exponential long tail over days. Engagements (likes, Retweets, replies, quotes, bookmarks)
  run ``engagement_lead`` times ahead of impressions and clicks.
* Promoted counts follow :func:`campaign_fraction`: the ad campaign starts hours after posting,
  delivers front-loaded over a few days, then stays flat.
* ``unlikes`` of the organic likes are withdrawn over ``unlike_days``: ``like_count`` can drop a
  little after its peak; every other counter only grows.
* Counts are ``int(total × fraction)``, so they are whole, never exceed their totals and never
  shrink (likes aside) as time passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xmetrics_core.sandbox.settings import SandboxSettings

HOUR = 3600.0
DAY = 86400.0


def organic_fraction(
    age: float, *, fast_share: float, fast_hours: float, tail_days: float
) -> float:
    """Share of a Post's organic total reached ``age`` seconds after posting (0 → 1).

    An Erlang-2 rise-and-decay (hourly counts peak ``fast_hours`` after posting; the bulk is in
    within a day or two) weighted ``fast_share``, plus an exponential long tail over days.
    """
    if age <= 0:
        return 0.0
    x = age / (fast_hours * HOUR)
    fast = 1.0 if x > 60 else 1.0 - (1.0 + x) * math.exp(-x)
    tail = 1.0 - math.exp(-age / (tail_days * DAY))
    return fast_share * fast + (1.0 - fast_share) * tail


def campaign_fraction(age: float, *, delay_hours: float, days: float) -> float:
    """Share of a promoted total delivered ``age`` seconds after posting: an ad campaign that
    starts ``delay_hours`` later and delivers front-loaded over ``days``, then stays flat."""
    x = (age - delay_hours * HOUR) / (days * DAY)
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    return 1.0 - float((1.0 - x) ** 1.5)


@dataclass(frozen=True, kw_only=True, slots=True)
class Counts:
    """One group's six split counters (totals a curve grows towards)."""

    impression_count: int
    like_count: int
    reply_count: int
    retweet_count: int
    url_link_clicks: int
    user_profile_clicks: int


ZERO_COUNTS = Counts(
    impression_count=0,
    like_count=0,
    reply_count=0,
    retweet_count=0,
    url_link_clicks=0,
    user_profile_clicks=0,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Tally:
    """Every counter of one Post at one moment (cumulative since posting)."""

    organic: Counts  # like_count here is net of unlikes
    promoted: Counts | None
    organic_likes_gross: int
    unlikes: int
    quotes: int
    bookmarks: int

    @property
    def impressions(self) -> int:
        return self.organic.impression_count + (
            self.promoted.impression_count if self.promoted else 0
        )

    def total(self, name: str) -> int:
        """Organic + promoted for one of the six split counters."""
        value: int = getattr(self.organic, name)
        if self.promoted is not None:
            value += getattr(self.promoted, name)
        return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Growth:
    """How one Post's counts grow: asymptotic totals and the shape of each curve.

    ``organic.like_count`` is the gross number of likes; ``unlikes`` of them are withdrawn later
    (over ``unlike_days``). ``rates`` are the analytics-only counters per impression
    (``detail_expands, permalink_clicks, shares, follows, unfollows, email_tweet,
    hashtag_clicks, media_views``).
    """

    organic: Counts
    promoted: Counts | None
    quotes: int
    bookmarks: int
    unlikes: int
    fast_share: float
    fast_hours: float
    tail_days: float
    engagement_lead: float
    campaign_delay_hours: float
    campaign_days: float
    unlike_days: float
    rates: tuple[float, ...]
    zero: bool = False

    def tally(self, age: float) -> Tally:
        """Every counter ``age`` seconds after posting."""
        if age <= 0 or self.zero:
            return _ZERO_PROMOTED if self.promoted is not None else _ZERO_ORGANIC
        seen = organic_fraction(
            age, fast_share=self.fast_share, fast_hours=self.fast_hours, tail_days=self.tail_days
        )
        engaged = organic_fraction(
            age * self.engagement_lead,
            fast_share=self.fast_share,
            fast_hours=self.fast_hours,
            tail_days=self.tail_days,
        )
        o = self.organic
        gross = int(o.like_count * engaged)
        unliked = 0
        if self.unlikes:
            unliked = min(
                gross, int(self.unlikes * (1.0 - math.exp(-age / (self.unlike_days * DAY))))
            )
        organic = Counts(
            impression_count=int(o.impression_count * seen),
            like_count=gross - unliked,
            reply_count=int(o.reply_count * engaged),
            retweet_count=int(o.retweet_count * engaged),
            url_link_clicks=int(o.url_link_clicks * seen),
            user_profile_clicks=int(o.user_profile_clicks * seen),
        )
        promoted: Counts | None = None
        if self.promoted is not None:
            delivered = campaign_fraction(
                age, delay_hours=self.campaign_delay_hours, days=self.campaign_days
            )
            p = self.promoted
            promoted = Counts(
                impression_count=int(p.impression_count * delivered),
                like_count=int(p.like_count * delivered),
                reply_count=int(p.reply_count * delivered),
                retweet_count=int(p.retweet_count * delivered),
                url_link_clicks=int(p.url_link_clicks * delivered),
                user_profile_clicks=int(p.user_profile_clicks * delivered),
            )
        return Tally(
            organic=organic,
            promoted=promoted,
            organic_likes_gross=gross,
            unlikes=unliked,
            quotes=int(self.quotes * engaged),
            bookmarks=int(self.bookmarks * engaged),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricOptions:
    """The settings that shape the metric dicts the API serves."""

    include_bookmark_count: bool = True
    include_engagements: bool = False
    omit_zero_private_keys: bool = True

    @classmethod
    def of(cls, settings: SandboxSettings) -> MetricOptions:
        return cls(
            include_bookmark_count=settings.include_bookmark_count,
            include_engagements=settings.include_engagements,
            omit_zero_private_keys=settings.omit_zero_private_keys,
        )


_ZERO_ORGANIC = Tally(
    organic=ZERO_COUNTS, promoted=None, organic_likes_gross=0, unlikes=0, quotes=0, bookmarks=0
)
_ZERO_PROMOTED = Tally(
    organic=ZERO_COUNTS,
    promoted=ZERO_COUNTS,
    organic_likes_gross=0,
    unlikes=0,
    quotes=0,
    bookmarks=0,
)
