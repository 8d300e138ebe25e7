"""The sandbox's seeded world: users, Posts, media and how their metrics grow (the ground truth).

Design (decided for the whole project, see ARCHITECTURE.md "Sandbox"):

* The world is anchored to the **start of a UTC day** (``anchor``), not to the moment the
  process started: the same seed, settings and UTC day give the same users, Posts and IDs, so
  IDs a user pasted still work after a restart that day. ``build_world(now=...)`` takes the
  anchor from ``now``'s day.
* ``SandboxSettings.accounts`` users. Account 0 is the demo owner with ``demo_posts`` Posts
  spread over the 45 days before the anchor, so some are past the 30-day private window; every
  other account has about six Posts, recent and older. The second-to-last account is protected
  and the last one suspended. From the anchor on, the demo account **keeps posting**: one Post
  about every ``new_post_interval_hours`` (4) hours, generated on demand from (seed, anchor,
  slot number), so a clock running for weeks is never short of new Posts.
* **Metrics are a pure function of (seed, Post, time).** Each Post has asymptotic totals and
  curve shapes; :meth:`World.metrics_at` evaluates them at any moment (whole seconds) and
  :attr:`World.now` is whatever the sandbox clock says. Organic counts follow a fast
  rise-and-decay (an Erlang-2 curve, most impressions within a day or two) plus a long tail over
  days; engagements run slightly ahead of impressions; promoted counts follow the Post's ad
  campaign (starting hours after posting, delivering over days, then flat). About a third of
  the Posts lose a few likes over the following days (unlikes), so ``like_count`` can drop a
  little; every other count only grows. Before a Post's ``created_at`` it does not exist.
* Post IDs are real snowflakes whose timestamp equals ``created_at`` exactly
  (``(ms - 1288834974657) << 22 | worker/sequence bits``); ``created_at`` is rendered
  ``YYYY-MM-DDTHH:MM:SS.000Z``. ``deleted_ids`` are valid snowflakes that are never served.
* Metrics are internally consistent at every moment: for promoted Posts every field carried by
  both groups has total = organic + promoted (totals live in ``public_metrics`` for likes,
  Retweets and replies and in ``non_public_metrics`` for impressions, link and profile clicks;
  ``public_metrics.impression_count == non_public_metrics.impression_count``); ``quote_count``
  and ``bookmark_count`` are organic only. Unpromoted Posts have organic = totals and no
  promoted group.
* Videos carry ``view_count`` (public = organic + promoted), a share of their carrying Posts'
  organic and promoted impressions, and playback quartiles that fall off from 0 % to 100 %,
  except one demo video whose count *rises* between two quartiles (viewers skipping ahead). One
  demo video is attached to two demo Posts (same ``media_key``); its metrics aggregate both.
  Photos and animated GIFs never have metric groups. Videos' and GIFs' ``preview_image_url``
  point at the sandbox itself (``/media/preview/``).
* One demo Post (the newest before the anchor) is never shown to anyone: zero impressions at
  every moment. Texts include emoji, newlines, HTML/script-looking markup, a markdown link and
  formula-looking text (``=``, ``+``, ``-``, ``@``). Some demo Posts reply to other accounts,
  quote the demo's own Posts, another account's, a protected account's or a deleted Post
  (``referenced_tweets``), were edited (``edit_history_tweet_ids`` lists an earlier version,
  which is not served) or are long (``note_tweet``).
* Ground-truth objects expose exactly the metric dicts the API serves to the owner (the
  settings ``include_bookmark_count``, ``include_engagements`` and ``omit_zero_private_keys``
  are applied).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from types import MappingProxyType

from xmetrics_core.sandbox.growth import (
    HOUR,
    Counts,
    Growth,
    MetricOptions,
    Tally,
)
from xmetrics_core.sandbox.settings import SandboxSettings, start_of_utc_day

#: Twitter's snowflake epoch (2010-11-04T01:42:54.657Z) in milliseconds.
TWEPOCH_MS = 1288834974657
PRIVATE_WINDOW = timedelta(days=30)
#: X lets a Post be edited for 30 minutes after posting.
EDIT_WINDOW = timedelta(minutes=30)
#: A preview image's path is PREFIX + media_key + SUFFIX (``/media/preview/7_123.svg``).
PREVIEW_IMAGE_PREFIX = "/media/preview/"
PREVIEW_IMAGE_SUFFIX = ".svg"
MetricDict = Mapping[str, int]
MetricGroups = dict[str, dict[str, int]]
#: Where a ground-truth object reads "now" from (the sandbox clock's world time).
TimeSource = Callable[[], datetime]

#: ``analytics.fields`` of ``GET /2/tweets/analytics`` that are metrics (not ``id``/``timestamp``).
POST_ANALYTICS_METRICS = (
    "app_install_attempts",
    "app_opens",
    "bookmarks",
    "detail_expands",
    "email_tweet",
    "engagements",
    "follows",
    "hashtag_clicks",
    "impressions",
    "likes",
    "media_views",
    "permalink_clicks",
    "quote_tweets",
    "replies",
    "retweets",
    "shares",
    "unfollows",
    "unlikes",
    "url_clicks",
    "user_profile_clicks",
)
#: ``media_analytics.fields`` of ``GET /2/media/analytics`` that are metrics.
MEDIA_ANALYTICS_METRICS = (
    "cta_url_clicks",
    "cta_watch_clicks",
    "play_from_tap",
    "playback25",
    "playback50",
    "playback75",
    "playback_complete",
    "playback_start",
    "video_views",
    "watch_time_ms",
)


def make_snowflake(created_at: datetime, *, worker: int, sequence: int) -> str:
    """A snowflake ID whose embedded time is ``created_at`` (millisecond precision)."""
    ms = int(round(created_at.timestamp() * 1000))
    return str(((ms - TWEPOCH_MS) << 22) | ((worker & 0x3FF) << 12) | (sequence & 0xFFF))


def snowflake_datetime(snowflake: str) -> datetime:
    """The UTC time embedded in a snowflake ID."""
    return datetime.fromtimestamp(((int(snowflake) >> 22) + TWEPOCH_MS) / 1000, tz=UTC)


def format_time(moment: datetime) -> str:
    """X's ``created_at`` format: ``2022-08-13T20:36:51.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _fixed(moment: datetime) -> TimeSource:
    def now() -> datetime:
        return moment

    return now


# -- users, media, Posts ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class User:
    """A sandbox account as ``GET /2/users/...`` serves it."""

    id: str
    username: str
    name: str
    created_at: datetime
    description: str
    location: str
    protected: bool = False
    suspended: bool = False
    public_metrics: MetricDict = field(default_factory=lambda: MappingProxyType({}))

    def as_json(self, fields: frozenset[str]) -> dict[str, object]:
        """The user object with the default fields plus the requested ``user.fields``."""
        body: dict[str, object] = {"id": self.id, "name": self.name, "username": self.username}
        optional: dict[str, object] = {
            "created_at": format_time(self.created_at),
            "description": self.description,
            "location": self.location,
            "protected": self.protected,
            "verified": False,
            "public_metrics": dict(self.public_metrics),
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{self.id}/avatar_normal.jpg",
        }
        for name, value in optional.items():
            if name in fields:
                body[name] = value
        return body


@dataclass(frozen=True, kw_only=True)
class Post:
    """A Post: its content, and the metric groups the API serves its owner at any moment.

    :meth:`metrics_at` is the pure function of time; the properties (``metrics``,
    ``public_metrics``, ...) evaluate it at the world's current time (the sandbox clock).
    """

    id: str
    author_id: str
    created_at: datetime
    text: str
    growth: Growth
    promoted: bool = False
    media_keys: tuple[str, ...] = ()
    in_reply_to_user_id: str | None = None
    replied_to_id: str | None = None
    quoted_id: str | None = None
    url: str | None = None
    earlier_version_ids: tuple[str, ...] = ()
    note_text: str | None = None
    options: MetricOptions = field(default_factory=MetricOptions, compare=False, repr=False)
    clock: TimeSource = field(default=lambda: datetime.now(UTC), compare=False, repr=False)
    #: One-entry memo ``(second, tally)``: a request evaluates a Post several times at once.
    _memo: list[tuple[int, Tally] | None] = field(
        init=False, default_factory=lambda: [None], compare=False, repr=False
    )

    # -- time ---------------------------------------------------------------------------------
    def tally_at(self, moment: datetime) -> Tally:
        """Every counter at ``moment`` (whole seconds; zero before ``created_at``)."""
        second = int(moment.timestamp())
        entry = self._memo[0]  # read once: another thread may replace it
        if entry is not None and entry[0] == second:
            return entry[1]
        tally = self.growth.tally(second - int(self.created_at.timestamp()))
        self._memo[0] = (second, tally)
        return tally

    def metrics_at(self, moment: datetime) -> MetricGroups:
        """The groups served to the owner at ``moment`` (no ``promoted_metrics`` if never
        promoted), with the settings' key rules applied."""
        tally = self.tally_at(moment)
        options = self.options
        public = {
            "retweet_count": tally.total("retweet_count"),
            "reply_count": tally.total("reply_count"),
            "like_count": tally.total("like_count"),
            "quote_count": tally.quotes,
        }
        if options.include_bookmark_count:
            public["bookmark_count"] = tally.bookmarks
        public["impression_count"] = tally.impressions
        non_public = {
            "impression_count": tally.impressions,
            "url_link_clicks": tally.total("url_link_clicks"),
            "user_profile_clicks": tally.total("user_profile_clicks"),
        }
        if options.include_engagements:
            non_public["engagements"] = _engagements(self, tally)
        groups: MetricGroups = {
            "public_metrics": public,
            "non_public_metrics": _omit_zero_links(non_public, options),
            "organic_metrics": _private_group(tally.organic, options),
        }
        if self.promoted and tally.promoted is not None:
            groups["promoted_metrics"] = _private_group(tally.promoted, options)
        return groups

    def analytics_totals_at(self, moment: datetime) -> dict[str, int]:
        """Cumulative ``GET /2/tweets/analytics`` counters at ``moment``: a bucket's value is the
        difference of these at its two ends, so buckets sum to the growth lookups show
        (``likes - unlikes`` is the change of ``like_count``)."""
        tally = self.tally_at(moment)
        impressions = tally.impressions
        rates = self.growth.rates
        extra = [int(impressions * rate) for rate in rates]
        likes = tally.organic_likes_gross + (tally.promoted.like_count if tally.promoted else 0)
        return {
            "app_install_attempts": 0,
            "app_opens": 0,
            "bookmarks": tally.bookmarks,
            "detail_expands": extra[0],
            "email_tweet": extra[5],
            "engagements": _engagements(self, tally),
            "follows": extra[3],
            "hashtag_clicks": extra[6],
            "impressions": impressions,
            "likes": likes,
            "media_views": extra[7],
            "permalink_clicks": extra[1],
            "quote_tweets": tally.quotes,
            "replies": tally.total("reply_count"),
            "retweets": tally.total("retweet_count"),
            "shares": extra[2],
            "unfollows": extra[4],
            "unlikes": tally.unlikes,
            "url_clicks": tally.total("url_link_clicks"),
            "user_profile_clicks": tally.total("user_profile_clicks"),
        }

    def exists_at(self, moment: datetime) -> bool:
        """A Post exists from its ``created_at`` on."""
        return self.created_at <= moment

    # -- the world's current time ----------------------------------------------------------------
    @property
    def metrics(self) -> MetricGroups:
        """Every group the owner is served now (no ``promoted_metrics`` when never promoted)."""
        return self.metrics_at(self.clock())

    @property
    def public_metrics(self) -> dict[str, int]:
        return self.metrics["public_metrics"]

    @property
    def non_public_metrics(self) -> dict[str, int]:
        return self.metrics["non_public_metrics"]

    @property
    def organic_metrics(self) -> dict[str, int]:
        return self.metrics["organic_metrics"]

    @property
    def promoted_metrics(self) -> dict[str, int] | None:
        return self.metrics.get("promoted_metrics")

    @cached_property
    def created_at_text(self) -> str:
        """``created_at`` as X renders it (computed once)."""
        return format_time(self.created_at)

    @cached_property
    def editable_until_text(self) -> str:
        """The end of the 30-minute edit window, as X renders it."""
        return format_time(self.created_at + EDIT_WINDOW)

    @property
    def edit_history_tweet_ids(self) -> tuple[str, ...]:
        """Every version's ID, oldest first, ending with this one (X's default field)."""
        return (*self.earlier_version_ids, self.id)

    def within_private_window(self, now: datetime) -> bool:
        """Private groups are served for Posts created at most 30 days before ``now``."""
        return now - self.created_at <= PRIVATE_WINDOW

    def entities(self) -> dict[str, object] | None:
        """``entities.urls`` for the t.co link in the text, if any (code-point offsets)."""
        if self.url is None:
            return None
        start = self.text.find(self.url)
        return {
            "urls": [
                {
                    "start": start,
                    "end": start + len(self.url),
                    "url": self.url,
                    "expanded_url": "https://example.com/xmetrics",
                    "display_url": "example.com/xmetrics",
                }
            ]
        }


def _engagements(post: Post, tally: Tally) -> int:
    """X's ``engagements``: every interaction, including detail expands (so not the sum of the
    public counts)."""
    likes = tally.organic_likes_gross + (tally.promoted.like_count if tally.promoted else 0)
    return (
        likes
        + tally.total("retweet_count")
        + tally.total("reply_count")
        + tally.quotes
        + tally.bookmarks
        + tally.total("url_link_clicks")
        + tally.total("user_profile_clicks")
        + int(tally.impressions * post.growth.rates[0])
    )


def _private_group(counts: Counts, options: MetricOptions) -> dict[str, int]:
    group = {
        "impression_count": counts.impression_count,
        "like_count": counts.like_count,
        "reply_count": counts.reply_count,
        "retweet_count": counts.retweet_count,
        "url_link_clicks": counts.url_link_clicks,
        "user_profile_clicks": counts.user_profile_clicks,
    }
    return _omit_zero_links(group, options)


def _omit_zero_links(group: dict[str, int], options: MetricOptions) -> dict[str, int]:
    if options.omit_zero_private_keys and group.get("url_link_clicks") == 0:
        del group["url_link_clicks"]
    return group


@dataclass(frozen=True, kw_only=True)
class VideoGrowth:
    """A video's views: ``share`` of each carrying Post's organic and promoted impressions, and
    the quartile ratios (playback_0 / views, then each quartile / the previous one)."""

    carriers: tuple[tuple[Post, float], ...]
    organic_ratios: tuple[float, ...]
    promoted_ratios: tuple[float, ...]
    skip: bool = False


@dataclass(frozen=True, kw_only=True)
class Media:
    """A media item; video metrics aggregate over every Post that carries it, at any moment."""

    media_key: str
    type: str
    owner_id: str
    post_ids: tuple[str, ...]
    appears_at: datetime
    width: int
    height: int
    duration_ms: int | None = None
    alt_text: str | None = None
    video: VideoGrowth | None = None
    clock: TimeSource = field(default=lambda: datetime.now(UTC), compare=False, repr=False)

    @property
    def promoted(self) -> bool:
        return self.video is not None and any(p.promoted for p, _ in self.video.carriers)

    def exists_at(self, moment: datetime) -> bool:
        """A media item exists once a Post carrying it does."""
        return self.appears_at <= moment

    def _views(self, moment: datetime) -> tuple[int, int]:
        assert self.video is not None
        organic = promoted = 0
        for post, share in self.video.carriers:
            tally = post.tally_at(moment)
            organic += int(tally.organic.impression_count * share)
            if tally.promoted is not None:
                promoted += int(tally.promoted.impression_count * share)
        return organic, promoted

    def _playbacks(self, views: int, ratios: tuple[float, ...]) -> dict[str, int]:
        assert self.video is not None
        counts = [max(views, int(views * ratios[0]))]
        for ratio in ratios[1:]:
            counts.append(int(counts[-1] * ratio))
        if self.video.skip and counts[2] > 0:
            counts[3] = int(counts[2] * 1.2) + 3  # more reach 75 % than 50 %: viewers skip ahead
        return {f"playback_{q}_count": c for q, c in zip((0, 25, 50, 75, 100), counts, strict=True)}

    def metrics_at(self, moment: datetime) -> MetricGroups:
        """Every metric group this media item has at ``moment`` (empty for photos and GIFs)."""
        if self.video is None:
            return {}
        organic_views, promoted_views = self._views(moment)
        organic = self._playbacks(organic_views, self.video.organic_ratios)
        organic["view_count"] = organic_views
        groups: MetricGroups = {"public_metrics": {"view_count": organic_views + promoted_views}}
        promoted: dict[str, int] | None = None
        if self.promoted:
            promoted = self._playbacks(promoted_views, self.video.promoted_ratios)
            promoted["view_count"] = promoted_views
        groups["non_public_metrics"] = {
            key: organic[key] + (promoted[key] if promoted else 0)
            for key in organic
            if key != "view_count"
        }
        groups["organic_metrics"] = organic
        if promoted is not None:
            groups["promoted_metrics"] = promoted
        return groups

    def analytics_totals_at(self, moment: datetime) -> dict[str, int]:
        """Cumulative ``GET /2/media/analytics`` counters at ``moment`` (empty for photos and
        GIFs: X reports video analytics)."""
        if self.video is None:
            return {}
        groups = self.metrics_at(moment)
        plays = groups["non_public_metrics"]
        starts = plays["playback_0_count"]
        duration = self.duration_ms or 0
        watched = (
            0.125 * starts
            + 0.25 * (plays["playback_25_count"] + plays["playback_50_count"])
            + 0.25 * plays["playback_75_count"]
            + 0.125 * plays["playback_100_count"]
        )
        promoted_views = groups.get("promoted_metrics", {}).get("view_count", 0)
        return {
            "cta_url_clicks": int(promoted_views * 0.01),
            "cta_watch_clicks": int(promoted_views * 0.02),
            "play_from_tap": int(starts * 0.35),
            "playback25": plays["playback_25_count"],
            "playback50": plays["playback_50_count"],
            "playback75": plays["playback_75_count"],
            "playback_complete": plays["playback_100_count"],
            "playback_start": starts,
            "video_views": groups["public_metrics"]["view_count"],
            "watch_time_ms": int(duration * watched),
        }

    @property
    def metrics(self) -> MetricGroups:
        """Every metric group now (empty for photos and GIFs)."""
        return self.metrics_at(self.clock())

    @property
    def public_metrics(self) -> dict[str, int] | None:
        return self.metrics.get("public_metrics")

    @property
    def non_public_metrics(self) -> dict[str, int] | None:
        return self.metrics.get("non_public_metrics")

    @property
    def organic_metrics(self) -> dict[str, int] | None:
        return self.metrics.get("organic_metrics")

    @property
    def promoted_metrics(self) -> dict[str, int] | None:
        return self.metrics.get("promoted_metrics")

    def as_json(
        self,
        fields: frozenset[str],
        *,
        private_allowed: bool,
        media_base_url: str,
        at: datetime | None = None,
    ) -> dict[str, object]:
        """The media object with ``media_key``, ``type`` and the requested ``media.fields`` at
        ``at`` (default: now).

        ``preview_image_url`` points at ``media_base_url`` (the sandbox itself, its twin of
        X's media host), which serves a generated image there (see ``previews.py``).
        """
        body: dict[str, object] = {"media_key": self.media_key, "type": self.type}
        ident = self.media_key.split("_", 1)[1]
        optional: dict[str, object | None] = {
            "width": self.width,
            "height": self.height,
            "alt_text": self.alt_text,
            "duration_ms": self.duration_ms,
        }
        if self.type == "photo":
            optional["url"] = f"https://pbs.twimg.com/media/{ident}.jpg"
        else:
            optional["preview_image_url"] = media_base_url + preview_image_path(self.media_key)
            optional["variants"] = _variants(self.type, ident)
        for name, value in optional.items():
            if name in fields and value is not None:
                body[name] = value
        if self.video is None:
            return body
        wanted = [
            name
            for name in (
                "public_metrics",
                "non_public_metrics",
                "organic_metrics",
                "promoted_metrics",
            )
            if name in fields and (private_allowed or name == "public_metrics")
        ]
        if wanted:
            groups = self.metrics_at(at if at is not None else self.clock())
            for name in wanted:
                if name in groups:
                    body[name] = groups[name]
        return body


def preview_image_path(media_key: str) -> str:
    """Where the sandbox serves a video's or GIF's preview image (X: ``pbs.twimg.com``)."""
    return f"{PREVIEW_IMAGE_PREFIX}{media_key}{PREVIEW_IMAGE_SUFFIX}"


def _variants(media_type: str, ident: str) -> list[dict[str, object]]:
    if media_type == "animated_gif":
        return [
            {
                "bit_rate": 0,
                "content_type": "video/mp4",
                "url": f"https://video.twimg.com/tweet_video/{ident}.mp4",
            }
        ]
    base = f"https://video.twimg.com/ext_tw_video/{ident}/pu"
    return [
        {"bit_rate": 256000, "content_type": "video/mp4", "url": f"{base}/vid/480x270/a.mp4"},
        {"content_type": "application/x-mpegURL", "url": f"{base}/pl/playlist.m3u8"},
        {"bit_rate": 2176000, "content_type": "video/mp4", "url": f"{base}/vid/1280x720/c.mp4"},
    ]


# -- the world ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class World:
    """Ground truth of one seeded sandbox, anchored to a UTC day, at any moment.

    ``now`` is the clock's world time; every accessor without ``at=`` answers for it.
    """

    seed: int
    anchor: datetime
    demo_user_id: str
    users: tuple[User, ...]
    base_posts: tuple[Post, ...]
    base_media: tuple[Media, ...]
    deleted_ids: tuple[str, ...]
    protected_user_id: str
    suspended_user_id: str
    clock: TimeSource = field(compare=False, repr=False)
    stream: DemoStream = field(compare=False, repr=False)
    _users: Mapping[str, User] = field(init=False, repr=False, compare=False)
    _posts: Mapping[str, Post] = field(init=False, repr=False, compare=False)
    _media: Mapping[str, Media] = field(init=False, repr=False, compare=False)
    _timelines: Mapping[str, tuple[Post, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        timelines: dict[str, list[Post]] = {}
        for post in sorted(self.base_posts, key=lambda p: p.created_at, reverse=True):
            timelines.setdefault(post.author_id, []).append(post)
        object.__setattr__(self, "_users", MappingProxyType({u.id: u for u in self.users}))
        object.__setattr__(self, "_posts", MappingProxyType({p.id: p for p in self.base_posts}))
        object.__setattr__(
            self, "_media", MappingProxyType({m.media_key: m for m in self.base_media})
        )
        object.__setattr__(
            self, "_timelines", MappingProxyType({k: tuple(v) for k, v in timelines.items()})
        )

    @property
    def now(self) -> datetime:
        """The world's current time (the sandbox clock's world time)."""
        return self.clock()

    def _at(self, at: datetime | None) -> datetime:
        return self.clock() if at is None else at

    # -- lookups ------------------------------------------------------------------------------
    def user(self, user_id: str) -> User | None:
        """The user with this ID, or None."""
        return self._users.get(user_id)

    def post(self, post_id: str, *, at: datetime | None = None) -> Post | None:
        """The Post with this ID existing at ``at`` (default now), or None (deleted IDs too)."""
        moment = self._at(at)
        found = self._posts.get(post_id) or self.stream.post(post_id, before=moment)
        return found if found is not None and found.exists_at(moment) else None

    def media_item(self, media_key: str, *, at: datetime | None = None) -> Media | None:
        """The media item with this key existing at ``at`` (default now), or None."""
        moment = self._at(at)
        found = self._media.get(media_key) or self.stream.media(media_key, before=moment)
        return found if found is not None and found.exists_at(moment) else None

    def posts_at(self, at: datetime) -> tuple[Post, ...]:
        """Every Post existing at ``at``, oldest first."""
        base = [p for p in self.base_posts if p.exists_at(at)]
        return (*base, *self.stream.posts(at))

    def media_at(self, at: datetime) -> tuple[Media, ...]:
        """Every media item existing at ``at``."""
        base = [m for m in self.base_media if m.exists_at(at)]
        return (*base, *self.stream.media_items(at))

    def posts_by(self, user_id: str, *, at: datetime | None = None) -> tuple[Post, ...]:
        """A user's Posts existing at ``at`` (default now), newest first."""
        moment = self._at(at)
        base = [p for p in self._timelines.get(user_id, ()) if p.exists_at(moment)]
        if user_id != self.demo_user_id:
            return tuple(base)
        return (*reversed(self.stream.posts(moment)), *base)

    @property
    def posts(self) -> tuple[Post, ...]:
        """Every Post existing now, oldest first."""
        return self.posts_at(self.clock())

    @property
    def media(self) -> tuple[Media, ...]:
        """Every media item existing now."""
        return self.media_at(self.clock())

    @property
    def demo_posts(self) -> tuple[Post, ...]:
        """The demo account's Posts existing now, newest first."""
        return self.posts_by(self.demo_user_id)

    # -- metrics as a function of time --------------------------------------------------------
    def metrics_at(self, post_id: str, at: datetime) -> MetricGroups | None:
        """A Post's metric groups as its owner is served them at ``at`` (None if it does not
        exist then). Pure: the same seed, day, settings, Post and moment give the same values."""
        post = self.post(post_id, at=at)
        return post.metrics_at(at) if post is not None else None

    def media_metrics_at(self, media_key: str, at: datetime) -> MetricGroups | None:
        """A media item's metric groups at ``at`` (``{}`` for photos and GIFs; None if absent)."""
        item = self.media_item(media_key, at=at)
        return item.metrics_at(at) if item is not None else None

    def analytics_totals_at(self, post_id: str, at: datetime) -> dict[str, int] | None:
        """A Post's cumulative ``/2/tweets/analytics`` counters at ``at`` (None if absent)."""
        post = self.post(post_id, at=at)
        return post.analytics_totals_at(at) if post is not None else None

    def media_analytics_totals_at(self, media_key: str, at: datetime) -> dict[str, int] | None:
        """A media item's cumulative ``/2/media/analytics`` counters at ``at``."""
        item = self.media_item(media_key, at=at)
        return item.analytics_totals_at(at) if item is not None else None


# -- generation ---------------------------------------------------------------------------------

_SPECIAL_TEXTS = (
    "Launch day 🚀🎉\nThanks to everyone who helped!\n\nMore soon 👀",
    "<script>alert(1)</script> is not how you say hello",
    "<img src=x onerror=alert(1)> sneaky markup in a Post",
    "Read the guide: [click](https://example.com) and tell me what you think",
    '=HYPERLINK("https://example.com","click me")',
    "+1 for the new dashboard ✅",
    "-2 bugs left before the release 🐛",
    "@everyone =SUM(A1:A9) is a formula, not a Post",
    "Multi-line\nPost\twith a tab & an ampersand \"quoted\" 'single'",
    "Ünïcødé ✨ 日本語のテキスト 🇺🇦 👩‍💻",
)
_TOPICS = (
    "video metrics",
    "the quarterly report",
    "our new feature",
    "the weekend stream",
    "a behind-the-scenes clip",
    "community feedback",
    "the product roadmap",
    "a quick tutorial",
    "release notes",
    "an experiment with timing",
)
_OPENERS = ("Thoughts on", "Sharing", "New:", "Quick look at", "Thread on", "Notes about")
_EMOJI = ("", "", " 📈", " 🎬", " 🔥", " 🙌")
_FIRST_NAMES = (
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Radia", "Tim", "Frances",
    "Guido", "Katherine", "Dennis", "Hedy", "John", "Sophie", "Edsger", "Annie", "Donald", "Lynn",
)  # fmt: skip
_NOTE_SENTENCES = (
    "Here is the long version, because 280 characters were not enough this time.",
    "We looked at every video from the last quarter and compared how far people watched.",
    "The short clips kept more viewers to the end; the long ones won on total watch time.",
    "Next month we will try posting at different hours and see what the hourly curves say.",
    "Thanks for reading all the way down here 🙏",
)
#: Demo plan positions (0 = newest) with a role the tests and the dashboard rely on.
_QUOTES_OWN, _QUOTES_DELETED, _QUOTES_PROTECTED, _QUOTES_OTHER = 19, 31, 34, 37
_QUOTED_OWN = 33
_EDITED = (24, 35)
_LONG = (25, 40)
TEXT_LIMIT = 280


@dataclass(kw_only=True)
class _PostPlan:
    author_id: str
    created_at: datetime
    text: str
    url: str | None = None
    promoted: bool = False
    zero: bool = False
    media_kind: str | None = None
    reply_to: tuple[str, str] | None = None
    quote: str | None = None  # "own" | "deleted" | "protected" | "other"
    edited: bool = False
    note_text: str | None = None


def _generic_text(rng: random.Random) -> tuple[str, str | None]:
    text = f"{rng.choice(_OPENERS)} {rng.choice(_TOPICS)}{rng.choice(_EMOJI)}"
    if rng.random() < 0.3:
        link = "https://t.co/" + "".join(
            rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            for _ in range(10)
        )
        return f"{text} {link}", link
    return text, None


def _long_text(rng: random.Random) -> str:
    body = list(_NOTE_SENTENCES[:-1])
    rng.shuffle(body)
    sentences = [*body, _NOTE_SENTENCES[-1]]
    return f"A long note on {rng.choice(_TOPICS)} 🧵\n\n" + "\n\n".join(sentences)


def _counts(rng: random.Random, *, promoted: bool, has_url: bool, scale: float) -> Counts:
    impressions = (
        int(rng.randint(200, 30000) * scale) if promoted else int(rng.randint(80, 25000) * scale)
    )
    likes = int(impressions * rng.uniform(0.003, 0.03 if promoted else 0.06))
    return Counts(
        impression_count=impressions,
        like_count=likes,
        reply_count=int(likes * rng.uniform(0.02, 0.2)),
        retweet_count=int(likes * rng.uniform(0.05, 0.3)),
        url_link_clicks=int(impressions * rng.uniform(0.004, 0.03)) + 1 if has_url else 0,
        user_profile_clicks=int(impressions * rng.uniform(0.001, 0.02)),
    )


def _growth(rng: random.Random, plan: _PostPlan) -> Growth:
    has_url = plan.url is not None
    organic = _counts(rng, promoted=False, has_url=has_url, scale=1.0)
    promoted = _counts(rng, promoted=True, has_url=has_url, scale=1.5) if plan.promoted else None
    quotes = rng.randint(0, organic.retweet_count // 2 + 1)
    bookmarks = rng.randint(0, organic.like_count // 4 + 1)
    unlikes = int(organic.like_count * rng.uniform(0.02, 0.06)) if rng.random() < 0.35 else 0
    media_rate = rng.uniform(0.05, 0.3) if plan.media_kind else 0.0
    hashtag_rate = rng.uniform(0.001, 0.004) if "#" in plan.text else 0.0
    return Growth(
        organic=organic,
        promoted=promoted,
        quotes=quotes,
        bookmarks=bookmarks,
        unlikes=unlikes,
        fast_share=rng.uniform(0.72, 0.9),
        fast_hours=rng.uniform(1.5, 5.0),
        tail_days=rng.uniform(4.0, 12.0),
        engagement_lead=rng.uniform(1.1, 1.5),
        campaign_delay_hours=rng.uniform(1.0, 12.0),
        campaign_days=rng.uniform(2.0, 7.0),
        unlike_days=rng.uniform(2.0, 6.0),
        rates=(
            rng.uniform(0.005, 0.03),  # detail_expands
            rng.uniform(0.001, 0.004),  # permalink_clicks
            rng.uniform(0.0005, 0.002),  # shares
            rng.uniform(0.0001, 0.001),  # follows
            rng.uniform(0.00001, 0.0001),  # unfollows
            rng.uniform(0.00002, 0.0001),  # email_tweet
            hashtag_rate,
            media_rate,
        ),
        zero=plan.zero,
    )


def _video_ratios(rng: random.Random) -> tuple[float, ...]:
    return (rng.uniform(1.05, 1.4), *(rng.uniform(0.45, 0.85) for _ in range(4)))


class _Builder:
    def __init__(self, *, seed: int, anchor: datetime, settings: SandboxSettings) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.anchor = anchor
        self.settings = settings
        self.sequence = 0

    def snowflake(self, moment: datetime) -> str:
        self.sequence += 1
        return make_snowflake(moment, worker=self.rng.randrange(1024), sequence=self.sequence)

    def ago(self, *, days: float) -> datetime:
        return (self.anchor - timedelta(days=days)).replace(microsecond=0)

    def users(self) -> list[User]:
        users: list[User] = []
        count = self.settings.accounts
        for index in range(count):
            joined = self.ago(days=400 + 37 * index + self.rng.randrange(300))
            if index == 0:
                username, name = "xmetrics_demo", "xmetrics Demo"
            else:
                first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
                username, name = f"{first.lower()}_{index:02d}", f"{first} Sandbox {index}"
            users.append(
                User(
                    id=self.snowflake(joined),
                    username=username,
                    name=name,
                    created_at=joined,
                    description=f"Sandbox account {index} <b>not bold</b> 🧪",
                    location="Loopback, 127.0.0.1",
                    protected=index == count - 2,
                    suspended=index == count - 1,
                    public_metrics=MappingProxyType(
                        {
                            "followers_count": self.rng.randrange(50, 50000),
                            "following_count": self.rng.randrange(10, 2000),
                            "tweet_count": self.rng.randrange(100, 20000),
                            "listed_count": self.rng.randrange(0, 200),
                            "like_count": self.rng.randrange(0, 30000),
                        }
                    ),
                )
            )
        return users

    def demo_plans(self, demo_id: str, others: list[str]) -> list[_PostPlan]:
        count = self.settings.demo_posts
        plans: list[_PostPlan] = []
        for index in range(count):
            if index == 0:
                created = self.anchor - timedelta(minutes=3)
            else:
                span = 45.0 * index / (count - 1)
                created = self.ago(days=max(0.05, span - self.rng.uniform(0, 0.4)))
            text, url = _generic_text(self.rng)
            plans.append(_PostPlan(author_id=demo_id, created_at=created, text=text, url=url))
        plans[0].zero = True
        plans[0].text, plans[0].url = "Posted to a quiet corner: nobody has seen this one 🍞", None
        for offset, special in enumerate(_SPECIAL_TEXTS):
            plan = plans[2 + offset * 3]
            plan.text, plan.url = special, None
        # promoted: about a third, including Posts past the 30-day window
        for index, plan in enumerate(plans[1:], start=1):
            plan.promoted = index % 3 == 1
        # media: videos, photos, animated GIFs, at fixed positions so tests can rely on them
        for index in (1, 4, 7, 10, 13, 16, 22, 28, count - 5, count - 2):
            plans[index].media_kind = "video"
        for index in (3, 9, 15, 21, count - 8):
            plans[index].media_kind = "photo"
        plans[12].media_kind = "photos"
        for index in (6, 18, count - 4):
            plans[index].media_kind = "animated_gif"
        for index in (5, 11, 17, count - 3):
            plans[index].reply_to = (others[index % len(others)], "")
        quotes = {
            _QUOTES_OWN: "own",
            _QUOTES_DELETED: "deleted",
            _QUOTES_PROTECTED: "protected",
            _QUOTES_OTHER: "other",
        }
        for index, kind in quotes.items():
            if index < count:
                plans[index].quote = kind
        for index in _EDITED:
            if index < count:
                plans[index].edited = True
        for index in _LONG:
            if index < count:
                full = _long_text(self.rng)
                plans[index].note_text = full
                plans[index].text, plans[index].url = full[: TEXT_LIMIT - 1].rstrip() + "…", None
        return plans

    def other_plans(self, user_id: str, user_index: int) -> list[_PostPlan]:
        plans: list[_PostPlan] = []
        for index in range(6):
            created = self.ago(days=0.3 + index * 7.5 + self.rng.uniform(0, 2))
            text, url = _generic_text(self.rng)
            plan = _PostPlan(author_id=user_id, created_at=created, text=text, url=url)
            plan.promoted = (index + user_index) % 4 == 0
            if index == 1:
                plan.media_kind = "video"
            elif index == 2:
                plan.media_kind = "photo"
            plans.append(plan)
        return plans


class DemoStream:
    """The demo account's new Posts after the anchor: slot ``k`` is posted at a deterministic
    moment in ``[anchor + k·interval, anchor + (k+1)·interval)`` and generated on first use
    from (seed, anchor, k); nothing depends on when or in which order slots are asked for."""

    def __init__(
        self,
        *,
        seed: int,
        anchor: datetime,
        author_id: str,
        interval_hours: float,
        options: MetricOptions,
        clock: TimeSource,
    ) -> None:
        self.seed = seed
        self.anchor = anchor
        self.author_id = author_id
        self.interval = interval_hours * HOUR
        self.options = options
        self.clock = clock
        self._anchor_ts = anchor.timestamp()
        self._slots: dict[int, tuple[Post, tuple[Media, ...]]] = {}

    def _created(self, k: int) -> datetime:
        rng = random.Random(f"xmetrics-sandbox:{self.seed}:{self.anchor.isoformat()}:slot:{k}")
        offset = (k + 0.15 + 0.7 * rng.random()) * self.interval
        return datetime.fromtimestamp(int(self._anchor_ts + offset), tz=UTC)

    def count(self, at: datetime) -> int:
        """How many slots have been posted by ``at``."""
        elapsed = at.timestamp() - self._anchor_ts
        if elapsed <= 0:
            return 0
        k = int(elapsed // self.interval)
        return k + 1 if self._created(k) <= at else k

    def slot(self, k: int) -> tuple[Post, tuple[Media, ...]]:
        """Slot ``k``'s Post and media (generated once)."""
        found = self._slots.get(k)
        if found is None:
            found = self._generate(k)
            self._slots[k] = found
        return found

    def _generate(self, k: int) -> tuple[Post, tuple[Media, ...]]:
        rng = random.Random(f"xmetrics-sandbox:{self.seed}:{self.anchor.isoformat()}:post:{k}")
        created = self._created(k)
        text, url = _generic_text(rng)
        media_kind = "video" if k % 4 == 2 else ("photo" if k % 5 == 3 else None)
        plan = _PostPlan(
            author_id=self.author_id,
            created_at=created,
            text=text,
            url=url,
            promoted=k % 3 == 1,
            media_kind=media_kind,
        )
        post_id = make_snowflake(created, worker=rng.randrange(1024), sequence=k)
        media: list[Media] = []
        media_keys: tuple[str, ...] = ()
        if media_kind is not None:
            made = created - timedelta(seconds=rng.randint(30, 600))
            prefix = "7_" if media_kind == "video" else "3_"
            media_keys = (prefix + make_snowflake(made, worker=rng.randrange(1024), sequence=k),)
        post = Post(
            id=post_id,
            author_id=self.author_id,
            created_at=created,
            text=text,
            url=url,
            promoted=plan.promoted,
            media_keys=media_keys,
            growth=_growth(rng, plan),
            options=self.options,
            clock=self.clock,
        )
        if media_kind == "video":
            media.append(
                Media(
                    media_key=media_keys[0],
                    type="video",
                    owner_id=self.author_id,
                    post_ids=(post_id,),
                    appears_at=created,
                    width=1280,
                    height=720,
                    duration_ms=rng.randint(6_000, 140_000),
                    video=VideoGrowth(
                        carriers=((post, rng.uniform(0.2, 0.6)),),
                        organic_ratios=_video_ratios(rng),
                        promoted_ratios=_video_ratios(rng),
                    ),
                    clock=self.clock,
                )
            )
        elif media_kind == "photo":
            media.append(
                Media(
                    media_key=media_keys[0],
                    type="photo",
                    owner_id=self.author_id,
                    post_ids=(post_id,),
                    appears_at=created,
                    width=1200,
                    height=675,
                    alt_text="A chart going up and to the right",
                    clock=self.clock,
                )
            )
        return post, tuple(media)

    def _candidates(self, moment: datetime) -> range:
        k = int((moment.timestamp() - self._anchor_ts) // self.interval)
        return range(max(0, k - 1), k + 2)

    def post(self, post_id: str, *, before: datetime) -> Post | None:
        """The slot Post with this ID, if it was posted by ``before``."""
        if not post_id.isdigit() or len(post_id) > 19:
            return None
        created = snowflake_datetime(post_id)
        if created < self.anchor or created > before:
            return None
        for k in self._candidates(created):
            post = self.slot(k)[0]
            if post.id == post_id:
                return post
        return None

    def media(self, media_key: str, *, before: datetime) -> Media | None:
        """The slot media item with this key, if its Post was posted by ``before``."""
        prefix, _, ident = media_key.partition("_")
        if prefix not in ("3", "7") or not ident.isdigit() or len(ident) > 19:
            return None
        made = snowflake_datetime(ident)
        if made < self.anchor - timedelta(minutes=10) or made > before:
            return None
        for k in self._candidates(made):
            for item in self.slot(k)[1]:
                if item.media_key == media_key:
                    return item
        return None

    def posts(self, at: datetime) -> list[Post]:
        """Slot Posts posted by ``at``, oldest first."""
        return [self.slot(k)[0] for k in range(self.count(at))]

    def media_items(self, at: datetime) -> list[Media]:
        """Slot media of the Posts posted by ``at``."""
        return [m for k in range(self.count(at)) for m in self.slot(k)[1]]


def build_world(
    *,
    seed: int,
    now: datetime,
    settings: SandboxSettings,
    clock: TimeSource | None = None,
) -> World:
    """Build the deterministic world for ``seed`` on ``now``'s UTC day.

    ``clock`` is where the world reads its current time from (the sandbox clock's world time);
    without it the world stays at ``now``.
    """
    anchor = start_of_utc_day(now)
    time_source = clock if clock is not None else _fixed(now.astimezone(UTC))
    options = MetricOptions.of(settings)
    builder = _Builder(seed=seed, anchor=anchor, settings=settings)
    users = builder.users()
    demo = users[0]
    others = [u.id for u in users[1:]]
    plans = builder.demo_plans(demo.id, others)
    for user_index, user in enumerate(users[1:], start=1):
        plans.extend(builder.other_plans(user.id, user_index))
    demo_by_position = [p for p in plans if p.author_id == demo.id]
    plans.sort(key=lambda p: p.created_at)

    post_ids = [builder.snowflake(plan.created_at) for plan in plans]
    id_of = {id(plan): post_id for plan, post_id in zip(plans, post_ids, strict=True)}
    by_author: dict[str, list[tuple[_PostPlan, str]]] = {}
    for plan, post_id in zip(plans, post_ids, strict=True):
        by_author.setdefault(plan.author_id, []).append((plan, post_id))

    def newest_older(user_id: str, than: datetime) -> str | None:
        older = [pid for p, pid in by_author.get(user_id, []) if p.created_at < than]
        return older[-1] if older else None

    # replies point at the newest older Post of the replied-to account
    reply_targets: dict[str, tuple[str, str]] = {}
    for plan, post_id in by_author[demo.id]:
        if plan.reply_to is None:
            continue
        replied = newest_older(plan.reply_to[0], plan.created_at)
        if replied is not None:
            reply_targets[post_id] = (plan.reply_to[0], replied)

    growths = {
        post_id: _growth(builder.rng, plan) for plan, post_id in zip(plans, post_ids, strict=True)
    }

    deleted = tuple(
        builder.snowflake(builder.ago(days=1 + 6 * index + builder.rng.uniform(0, 3)))
        for index in range(6)
    )
    protected_id, suspended_id = users[-2].id, users[-1].id
    visible_other = next(u.id for u in users[1:] if u.id not in (protected_id, suspended_id))
    quote_targets: dict[str, str] = {}
    for plan, post_id in by_author[demo.id]:
        target: str | None = None
        if plan.quote == "own" and len(demo_by_position) > _QUOTED_OWN:
            target = id_of[id(demo_by_position[_QUOTED_OWN])]
        elif plan.quote == "deleted":
            target = next((d for d in deleted if snowflake_datetime(d) < plan.created_at), None)
        elif plan.quote == "protected":
            target = newest_older(protected_id, plan.created_at)
        elif plan.quote == "other":
            target = newest_older(visible_other, plan.created_at)
        if target is not None:
            quote_targets[post_id] = target

    earlier: dict[str, tuple[str, ...]] = {}
    for plan, post_id in by_author[demo.id]:
        if plan.edited:
            first = plan.created_at - timedelta(seconds=builder.rng.randint(60, 1500))
            earlier[post_id] = (builder.snowflake(first),)

    # media keys first (Posts carry them), then Posts, then the media that reference the Posts
    plan_of = dict(zip(post_ids, plans, strict=True))
    media_keys: dict[str, list[str]] = {pid: [] for pid in post_ids}
    video_specs: list[tuple[str, tuple[str, ...], bool]] = []
    stills: list[tuple[str, str, str]] = []
    demo_videos = [pid for p, pid in by_author[demo.id] if p.media_kind == "video"]
    demo_videos_newest_first = list(reversed(demo_videos))
    shared_pair = (demo_videos_newest_first[2], demo_videos_newest_first[3])
    skip_video_post = demo_videos_newest_first[1]
    for post_id in post_ids:
        plan = plan_of[post_id]
        if plan.media_kind is None or media_keys[post_id]:
            continue
        if plan.media_kind == "video":
            carriers: tuple[str, ...] = shared_pair if post_id in shared_pair else (post_id,)
            first_plan = plan_of[carriers[0]]
            made = first_plan.created_at - timedelta(seconds=builder.rng.randint(30, 600))
            key = "7_" + builder.snowflake(made)
            video_specs.append((key, carriers, post_id == skip_video_post))
            for carrier in carriers:
                media_keys[carrier].append(key)
        else:
            kinds = ["photo", "photo"] if plan.media_kind == "photos" else [plan.media_kind]
            for kind in kinds:
                made = plan.created_at - timedelta(seconds=builder.rng.randint(5, 300))
                key = ("3_" if kind == "photo" else "16_") + builder.snowflake(made)
                stills.append((key, kind, post_id))
                media_keys[post_id].append(key)

    posts: list[Post] = []
    for plan, post_id in zip(plans, post_ids, strict=True):
        reply = reply_targets.get(post_id)
        posts.append(
            Post(
                id=post_id,
                author_id=plan.author_id,
                created_at=plan.created_at,
                text=plan.text,
                url=plan.url,
                promoted=plan.promoted and not plan.zero,
                media_keys=tuple(media_keys[post_id]),
                in_reply_to_user_id=reply[0] if reply else None,
                replied_to_id=reply[1] if reply else None,
                quoted_id=quote_targets.get(post_id),
                earlier_version_ids=earlier.get(post_id, ()),
                note_text=plan.note_text,
                growth=growths[post_id],
                options=options,
                clock=time_source,
            )
        )
    post_by_id = {p.id: p for p in posts}

    media: list[Media] = []
    for key, carriers, skip in video_specs:
        owner = plan_of[carriers[0]].author_id
        media.append(
            Media(
                media_key=key,
                type="video",
                owner_id=owner,
                post_ids=carriers,
                appears_at=min(plan_of[c].created_at for c in carriers),
                width=1280,
                height=720,
                duration_ms=builder.rng.randint(6_000, 140_000),
                video=VideoGrowth(
                    carriers=tuple(
                        (post_by_id[c], builder.rng.uniform(0.2, 0.6)) for c in carriers
                    ),
                    organic_ratios=_video_ratios(builder.rng),
                    promoted_ratios=_video_ratios(builder.rng),
                    skip=skip,
                ),
                clock=time_source,
            )
        )
    for key, kind, post_id in stills:
        media.append(
            Media(
                media_key=key,
                type=kind,
                owner_id=plan_of[post_id].author_id,
                post_ids=(post_id,),
                appears_at=plan_of[post_id].created_at,
                width=1200 if kind == "photo" else 480,
                height=675 if kind == "photo" else 270,
                alt_text="A chart going up and to the right" if kind == "photo" else None,
                clock=time_source,
            )
        )

    stream = DemoStream(
        seed=seed,
        anchor=anchor,
        author_id=demo.id,
        interval_hours=settings.new_post_interval_hours,
        options=options,
        clock=time_source,
    )
    return World(
        seed=seed,
        anchor=anchor,
        demo_user_id=demo.id,
        users=tuple(users),
        base_posts=tuple(posts),
        base_media=tuple(media),
        deleted_ids=deleted,
        protected_user_id=protected_id,
        suspended_user_id=suspended_id,
        clock=time_source,
        stream=stream,
    )
