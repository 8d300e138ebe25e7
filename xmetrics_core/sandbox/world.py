"""The sandbox's seeded world: users, Posts, media and their metrics (the ground truth).

Design (decided for the whole project, see ARCHITECTURE.md "Sandbox"):

* ``SandboxSettings.accounts`` users. Account 0 is the demo owner with ``demo_posts`` Posts
  spread over the last 45 days (relative to ``now``), so some are past the 30-day private
  window; every other account has about six Posts, recent and older, so tests can connect many
  different accounts and each sees its own private metrics. The second-to-last account is
  protected and the last one suspended.
* Post IDs are real snowflakes whose timestamp equals ``created_at`` exactly
  (``(ms - 1288834974657) << 22 | datacenter/worker/sequence bits``); ``created_at`` is rendered
  ``YYYY-MM-DDTHH:MM:SS.000Z``. ``deleted_ids`` are valid snowflakes that are never served.
* Metrics are internally consistent: for promoted Posts every field carried by both groups has
  total = organic + promoted (totals live in ``public_metrics`` for likes, Retweets and replies
  and in ``non_public_metrics`` for impressions, link and profile clicks;
  ``public_metrics.impression_count == non_public_metrics.impression_count``); ``quote_count`` is
  organic only. Unpromoted Posts have organic = totals and no promoted group.
* Videos carry ``view_count`` (public = organic + promoted) and playback quartiles that fall off
  from 0 % to 100 %, except one demo video whose count *rises* between two quartiles (viewers
  skipping ahead). One demo video is attached to two demo Posts (same ``media_key``); its
  metrics are the aggregate of both. Photos and animated GIFs never have metric groups.
  Videos' and GIFs' ``preview_image_url`` point at the sandbox itself (``/media/preview/``),
  which draws a deterministic SVG per media key: no image ever comes from off the machine.
* One demo Post was "just posted" and has zero impressions. Texts include emoji, newlines,
  HTML/script-looking markup, a markdown link and formula-looking text (``=``, ``+``, ``-``, ``@``).
* Deterministic: the same seed, ``now`` and settings always build an identical world.
* Ground-truth objects expose exactly the metric dicts the API serves to the owner (the
  settings ``include_bookmark_count``, ``include_engagements`` and ``omit_zero_private_keys``
  are applied at build time).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from xmetrics_core.sandbox.settings import SandboxSettings

#: Twitter's snowflake epoch (2010-11-04T01:42:54.657Z) in milliseconds.
TWEPOCH_MS = 1288834974657
PRIVATE_WINDOW = timedelta(days=30)
#: A preview image's path is PREFIX + media_key + SUFFIX (``/media/preview/7_123.svg``).
PREVIEW_IMAGE_PREFIX = "/media/preview/"
PREVIEW_IMAGE_SUFFIX = ".svg"

MetricDict = Mapping[str, int]


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
class Media:
    """A media item; video metrics aggregate over every Post that carries it."""

    media_key: str
    type: str
    owner_id: str
    post_ids: tuple[str, ...]
    width: int
    height: int
    duration_ms: int | None = None
    alt_text: str | None = None
    public_metrics: MetricDict | None = None
    non_public_metrics: MetricDict | None = None
    organic_metrics: MetricDict | None = None
    promoted_metrics: MetricDict | None = None

    @property
    def metrics(self) -> dict[str, MetricDict]:
        """Every metric group this media item has (empty for photos and GIFs)."""
        groups = {
            "public_metrics": self.public_metrics,
            "non_public_metrics": self.non_public_metrics,
            "organic_metrics": self.organic_metrics,
            "promoted_metrics": self.promoted_metrics,
        }
        return {name: values for name, values in groups.items() if values is not None}

    def as_json(
        self, fields: frozenset[str], *, private_allowed: bool, media_base_url: str
    ) -> dict[str, object]:
        """The media object with ``media_key``, ``type`` and the requested ``media.fields``.

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
        if "public_metrics" in fields and self.public_metrics is not None:
            body["public_metrics"] = dict(self.public_metrics)
        if private_allowed:
            for name in ("non_public_metrics", "organic_metrics", "promoted_metrics"):
                values = getattr(self, name)
                if name in fields and values is not None:
                    body[name] = dict(values)
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


@dataclass(frozen=True, kw_only=True)
class Post:
    """A Post and the metric groups the API serves to its owner."""

    id: str
    author_id: str
    created_at: datetime
    text: str
    media_keys: tuple[str, ...] = ()
    in_reply_to_user_id: str | None = None
    replied_to_id: str | None = None
    url: str | None = None
    public_metrics: MetricDict
    non_public_metrics: MetricDict
    organic_metrics: MetricDict
    promoted_metrics: MetricDict | None = None

    @property
    def promoted(self) -> bool:
        return self.promoted_metrics is not None

    @property
    def metrics(self) -> dict[str, MetricDict]:
        """Every group the owner is served (no ``promoted_metrics`` when never promoted)."""
        groups: dict[str, MetricDict] = {
            "public_metrics": self.public_metrics,
            "non_public_metrics": self.non_public_metrics,
            "organic_metrics": self.organic_metrics,
        }
        if self.promoted_metrics is not None:
            groups["promoted_metrics"] = self.promoted_metrics
        return groups

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


@dataclass(frozen=True, kw_only=True)
class World:
    """Ground truth of one seeded sandbox."""

    seed: int
    now: datetime
    demo_user_id: str
    users: tuple[User, ...]
    posts: tuple[Post, ...]
    media: tuple[Media, ...]
    deleted_ids: tuple[str, ...]
    protected_user_id: str
    suspended_user_id: str
    _users: Mapping[str, User] = field(init=False, repr=False, compare=False)
    _posts: Mapping[str, Post] = field(init=False, repr=False, compare=False)
    _media: Mapping[str, Media] = field(init=False, repr=False, compare=False)
    _timelines: Mapping[str, tuple[Post, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        timelines: dict[str, list[Post]] = {}
        for post in sorted(self.posts, key=lambda p: p.created_at, reverse=True):
            timelines.setdefault(post.author_id, []).append(post)
        object.__setattr__(self, "_users", MappingProxyType({u.id: u for u in self.users}))
        object.__setattr__(self, "_posts", MappingProxyType({p.id: p for p in self.posts}))
        object.__setattr__(self, "_media", MappingProxyType({m.media_key: m for m in self.media}))
        object.__setattr__(
            self, "_timelines", MappingProxyType({k: tuple(v) for k, v in timelines.items()})
        )

    def user(self, user_id: str) -> User | None:
        """The user with this ID, or None."""
        return self._users.get(user_id)

    def post(self, post_id: str) -> Post | None:
        """The Post with this ID, or None (deleted IDs are None too)."""
        return self._posts.get(post_id)

    def media_item(self, media_key: str) -> Media | None:
        """The media item with this key, or None."""
        return self._media.get(media_key)

    def posts_by(self, user_id: str) -> tuple[Post, ...]:
        """A user's Posts, newest first."""
        return self._timelines.get(user_id, ())

    @property
    def demo_posts(self) -> tuple[Post, ...]:
        return self.posts_by(self.demo_user_id)


# -- generation -------------------------------------------------------------------------------

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
    media_keys: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class _Counts:
    impression_count: int
    like_count: int
    reply_count: int
    retweet_count: int
    url_link_clicks: int
    user_profile_clicks: int

    def plus(self, other: _Counts) -> _Counts:
        return _Counts(
            impression_count=self.impression_count + other.impression_count,
            like_count=self.like_count + other.like_count,
            reply_count=self.reply_count + other.reply_count,
            retweet_count=self.retweet_count + other.retweet_count,
            url_link_clicks=self.url_link_clicks + other.url_link_clicks,
            user_profile_clicks=self.user_profile_clicks + other.user_profile_clicks,
        )


_ZERO = _Counts(
    impression_count=0,
    like_count=0,
    reply_count=0,
    retweet_count=0,
    url_link_clicks=0,
    user_profile_clicks=0,
)


class _Builder:
    def __init__(self, *, seed: int, now: datetime, settings: SandboxSettings) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.now = now.astimezone(UTC).replace(microsecond=0)
        self.settings = settings
        self.sequence = 0

    def snowflake(self, moment: datetime) -> str:
        self.sequence += 1
        return make_snowflake(moment, worker=self.rng.randrange(1024), sequence=self.sequence)

    def ago(self, *, days: float) -> datetime:
        return (self.now - timedelta(days=days)).replace(microsecond=0)

    # users ----------------------------------------------------------------------------------
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

    # plans ----------------------------------------------------------------------------------
    def generic_text(self) -> tuple[str, str | None]:
        text = f"{self.rng.choice(_OPENERS)} {self.rng.choice(_TOPICS)}{self.rng.choice(_EMOJI)}"
        if self.rng.random() < 0.3:
            link = "https://t.co/" + "".join(
                self.rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                for _ in range(10)
            )
            return f"{text} {link}", link
        return text, None

    def demo_plans(self, demo_id: str, others: list[str]) -> list[_PostPlan]:
        count = self.settings.demo_posts
        plans: list[_PostPlan] = []
        for index in range(count):
            if index == 0:
                created = self.now - timedelta(minutes=3)
            else:
                span = 45.0 * index / (count - 1)
                created = self.ago(days=max(0.05, span - self.rng.uniform(0, 0.4)))
            text, url = self.generic_text()
            plans.append(_PostPlan(author_id=demo_id, created_at=created, text=text, url=url))
        plans[0].zero = True
        plans[0].text, plans[0].url = "Just posted: fresh out of the oven 🍞", None
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
        return plans

    def other_plans(self, user_id: str, user_index: int) -> list[_PostPlan]:
        plans: list[_PostPlan] = []
        for index in range(6):
            created = self.ago(days=0.3 + index * 7.5 + self.rng.uniform(0, 2))
            text, url = self.generic_text()
            plan = _PostPlan(author_id=user_id, created_at=created, text=text, url=url)
            plan.promoted = (index + user_index) % 4 == 0
            if index == 1:
                plan.media_kind = "video"
            elif index == 2:
                plan.media_kind = "photo"
            plans.append(plan)
        return plans

    # metrics --------------------------------------------------------------------------------
    def counts(self, *, promoted: bool, has_url: bool, scale: float) -> _Counts:
        rng = self.rng
        impressions = (
            int(rng.randint(200, 30000) * scale)
            if promoted
            else int(rng.randint(80, 25000) * scale)
        )
        likes = int(impressions * rng.uniform(0.003, 0.03 if promoted else 0.06))
        return _Counts(
            impression_count=impressions,
            like_count=likes,
            reply_count=int(likes * rng.uniform(0.02, 0.2)),
            retweet_count=int(likes * rng.uniform(0.05, 0.3)),
            url_link_clicks=int(impressions * rng.uniform(0.004, 0.03)) + 1 if has_url else 0,
            user_profile_clicks=int(impressions * rng.uniform(0.001, 0.02)),
        )

    def private_group(self, counts: _Counts) -> dict[str, int]:
        group = {
            "impression_count": counts.impression_count,
            "like_count": counts.like_count,
            "reply_count": counts.reply_count,
            "retweet_count": counts.retweet_count,
            "url_link_clicks": counts.url_link_clicks,
            "user_profile_clicks": counts.user_profile_clicks,
        }
        return self.omit_zero_links(group)

    def omit_zero_links(self, group: dict[str, int]) -> dict[str, int]:
        if self.settings.omit_zero_private_keys and group.get("url_link_clicks") == 0:
            del group["url_link_clicks"]
        return group

    def post_metrics(
        self, plan: _PostPlan
    ) -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int] | None, _Counts]:
        has_url = plan.url is not None
        if plan.zero:
            organic, promoted = _ZERO, None
        else:
            organic = self.counts(promoted=False, has_url=has_url, scale=1.0)
            promoted = (
                self.counts(promoted=True, has_url=has_url, scale=1.5) if plan.promoted else None
            )
        total = organic.plus(promoted) if promoted else organic
        quotes = 0 if plan.zero else self.rng.randint(0, organic.retweet_count // 2 + 1)
        bookmarks = 0 if plan.zero else self.rng.randint(0, organic.like_count // 4 + 1)
        public = {
            "retweet_count": total.retweet_count,
            "reply_count": total.reply_count,
            "like_count": total.like_count,
            "quote_count": quotes,
        }
        if self.settings.include_bookmark_count:
            public["bookmark_count"] = bookmarks
        public["impression_count"] = total.impression_count
        non_public = {
            "impression_count": total.impression_count,
            "url_link_clicks": total.url_link_clicks,
            "user_profile_clicks": total.user_profile_clicks,
        }
        if self.settings.include_engagements:
            non_public["engagements"] = (
                total.like_count
                + total.retweet_count
                + total.reply_count
                + quotes
                + bookmarks
                + total.url_link_clicks
                + total.user_profile_clicks
            )
        return (
            public,
            self.omit_zero_links(non_public),
            self.private_group(organic),
            self.private_group(promoted) if promoted else None,
            total,
        )

    def playbacks(self, views: int, *, skip: bool) -> dict[str, int]:
        rng = self.rng
        counts = [max(views, int(views * rng.uniform(1.05, 1.4)))]
        for _ in range(4):
            counts.append(int(counts[-1] * rng.uniform(0.45, 0.85)))
        if skip:
            counts[3] = int(counts[2] * 1.2) + 3  # more reach 75 % than 50 %: viewers skip ahead
        return {f"playback_{q}_count": c for q, c in zip((0, 25, 50, 75, 100), counts, strict=True)}


def build_world(*, seed: int, now: datetime, settings: SandboxSettings) -> World:
    """Build the deterministic world for ``seed`` around ``now``."""
    builder = _Builder(seed=seed, now=now, settings=settings)
    users = builder.users()
    demo = users[0]
    others = [u.id for u in users[1:]]
    plans = builder.demo_plans(demo.id, others)
    for user_index, user in enumerate(users[1:], start=1):
        plans.extend(builder.other_plans(user.id, user_index))
    plans.sort(key=lambda p: p.created_at)

    post_ids = [builder.snowflake(plan.created_at) for plan in plans]
    by_author: dict[str, list[tuple[_PostPlan, str]]] = {}
    for plan, post_id in zip(plans, post_ids, strict=True):
        by_author.setdefault(plan.author_id, []).append((plan, post_id))

    # replies point at the newest older Post of the replied-to account
    reply_targets: dict[str, tuple[str, str]] = {}
    for plan, post_id in by_author[demo.id]:
        if plan.reply_to is None:
            continue
        target_user = plan.reply_to[0]
        older = [pid for p, pid in by_author.get(target_user, []) if p.created_at < plan.created_at]
        if older:
            reply_targets[post_id] = (target_user, older[-1])

    # metrics per Post
    computed: dict[
        str, tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int] | None, _Counts]
    ] = {}
    for plan, post_id in zip(plans, post_ids, strict=True):
        computed[post_id] = builder.post_metrics(plan)

    # media
    media: list[Media] = []
    media_keys: dict[str, list[str]] = {pid: [] for pid in post_ids}
    demo_videos = [pid for p, pid in by_author[demo.id] if p.media_kind == "video"]
    demo_videos_newest_first = list(reversed(demo_videos))
    shared_pair = (demo_videos_newest_first[2], demo_videos_newest_first[3])
    skip_video_post = demo_videos_newest_first[1]
    plan_of = dict(zip(post_ids, plans, strict=True))
    for post_id in post_ids:
        plan = plan_of[post_id]
        if plan.media_kind is None or media_keys[post_id]:
            continue
        if plan.media_kind == "video":
            carriers = shared_pair if post_id in shared_pair else (post_id,)
            media.append(
                _video(builder, carriers, plan_of, computed, skip=post_id == skip_video_post)
            )
            for carrier in carriers:
                media_keys[carrier].append(media[-1].media_key)
        else:
            kinds = ["photo", "photo"] if plan.media_kind == "photos" else [plan.media_kind]
            for kind in kinds:
                media.append(_still(builder, kind, plan, post_id))
                media_keys[post_id].append(media[-1].media_key)

    posts: list[Post] = []
    for plan, post_id in zip(plans, post_ids, strict=True):
        public, non_public, organic, promoted, _ = computed[post_id]
        target = reply_targets.get(post_id)
        posts.append(
            Post(
                id=post_id,
                author_id=plan.author_id,
                created_at=plan.created_at,
                text=plan.text,
                url=plan.url,
                media_keys=tuple(media_keys[post_id]),
                in_reply_to_user_id=target[0] if target else None,
                replied_to_id=target[1] if target else None,
                public_metrics=MappingProxyType(public),
                non_public_metrics=MappingProxyType(non_public),
                organic_metrics=MappingProxyType(organic),
                promoted_metrics=MappingProxyType(promoted) if promoted is not None else None,
            )
        )

    deleted = tuple(
        builder.snowflake(builder.ago(days=1 + 6 * index + builder.rng.uniform(0, 3)))
        for index in range(6)
    )
    return World(
        seed=seed,
        now=builder.now,
        demo_user_id=demo.id,
        users=tuple(users),
        posts=tuple(posts),
        media=tuple(media),
        deleted_ids=deleted,
        protected_user_id=users[-2].id,
        suspended_user_id=users[-1].id,
    )


def _video(
    builder: _Builder,
    carriers: tuple[str, ...],
    plan_of: Mapping[str, _PostPlan],
    computed: Mapping[str, tuple[object, object, object, object, _Counts]],
    *,
    skip: bool,
) -> Media:
    rng = builder.rng
    first = plan_of[carriers[0]]
    organic_views = 0
    promoted_views = 0
    any_promoted = False
    for carrier in carriers:
        plan = plan_of[carrier]
        total = computed[carrier][4]
        share = rng.uniform(0.2, 0.6)
        if plan.promoted:
            any_promoted = True
            promoted_views += int(total.impression_count * share * 0.5)
            organic_views += int(total.impression_count * share * 0.5)
        else:
            organic_views += int(total.impression_count * share)
    organic = builder.playbacks(organic_views, skip=skip)
    organic["view_count"] = organic_views
    promoted: dict[str, int] | None = None
    if any_promoted:
        promoted = builder.playbacks(promoted_views, skip=skip)
        promoted["view_count"] = promoted_views
    non_public = {
        key: organic[key] + (promoted[key] if promoted else 0)
        for key in organic
        if key != "view_count"
    }
    created = first.created_at - timedelta(seconds=rng.randint(30, 600))
    return Media(
        media_key="7_" + builder.snowflake(created),
        type="video",
        owner_id=first.author_id,
        post_ids=carriers,
        width=1280,
        height=720,
        duration_ms=rng.randint(6_000, 140_000),
        public_metrics=MappingProxyType({"view_count": organic_views + promoted_views}),
        non_public_metrics=MappingProxyType(non_public),
        organic_metrics=MappingProxyType(organic),
        promoted_metrics=MappingProxyType(promoted) if promoted is not None else None,
    )


def _still(builder: _Builder, kind: str, plan: _PostPlan, post_id: str) -> Media:
    created = plan.created_at - timedelta(seconds=builder.rng.randint(5, 300))
    prefix = "3_" if kind == "photo" else "16_"
    return Media(
        media_key=prefix + builder.snowflake(created),
        type=kind,
        owner_id=plan.author_id,
        post_ids=(post_id,),
        width=1200 if kind == "photo" else 480,
        height=675 if kind == "photo" else 270,
        alt_text="A chart going up and to the right" if kind == "photo" else None,
    )
