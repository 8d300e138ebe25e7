"""The Demo account's analytics exports, as X writes them, from the sandbox's own world.

X lets an account owner download CSV exports of their analytics (see the project README,
"Importing X's own analytics exports"). The sandbox writes the Demo account's in all four
formats, from the same pure functions of time the API serves (``Post.tally_at``,
``Post.analytics_totals_at``), so the Import page can be tried with a click and a test can
check that an import gives back the world's counts:

* ``tweet_activity_metrics_<handle>_<first>_<day after last>_en.csv``: the legacy per-Post
  export (40 quoted columns, counts as floats, ``-`` on the promoted side of a never-promoted
  Post, ``time`` like ``2026-11-03 16:45 +0000``, text HTML-escaped as X did);
* ``daily_tweet_activity_metrics_<handle>_…_en.csv``: the legacy per-day export;
* ``account_analytics_content_<first>_<last>.csv``: the current per-Post export (a date, no
  time of day: the time is in the Post ID);
* ``account_overview_analytics.csv``: the current per-day export, newest day first.

Each per-Post export holds the counts of its Posts at the end of its range (midnight UTC
after its last day); the legacy per-Post export ends a week before the content export, so
Posts of the week they share appear in both with two snapshots. Per-day rows are the day's
growth summed over the Demo account's Posts. Every range ends with the last whole day before
the world's clock. Never imports the client (the sandbox stays X's independent twin).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from xmetrics_core.sandbox.world import Post, World, _engagements

#: Days each export covers (X's legacy exports allowed at most 91).
EXPORT_DAYS: Final = 28
#: How many days the legacy per-Post export ends before the content export.
LEGACY_LAG_DAYS: Final = 7

_LEGACY_SIDE: Final = (
    "impressions",
    "engagements",
    "engagement rate",
    "retweets",
    "replies",
    "likes",
    "user profile clicks",
    "url clicks",
    "hashtag clicks",
    "detail expands",
    "permalink clicks",
    "app opens",
    "app installs",
    "follows",
    "email tweet",
    "dial phone",
    "media views",
    "media engagements",
)
LEGACY_POSTS_HEADER: Final = (
    "Tweet id",
    "Tweet permalink",
    "Tweet text",
    "time",
    *_LEGACY_SIDE,
    *(f"promoted {name}" for name in _LEGACY_SIDE),
)
LEGACY_DAYS_HEADER: Final = ("Date", "Tweets published", *LEGACY_POSTS_HEADER[4:])
CONTENT_HEADER: Final = (
    "Post id",
    "Date",
    "Post text",
    "Post Link",
    "Impressions",
    "Likes",
    "Engagements",
    "Bookmarks",
    "Shares",
    "New follows",
    "Replies",
    "Reposts",
    "Profile visits",
    "Detail Expands",
    "URL Clicks",
    "Hashtag Clicks",
    "Permalink Clicks",
)
OVERVIEW_HEADER: Final = (
    "Date",
    "Impressions",
    "Likes",
    "Engagements",
    "Bookmarks",
    "Shares",
    "New follows",
    "Unfollows",
    "Replies",
    "Reposts",
    "Profile visits",
    "Create Post",
    "Video views",
    "Media views",
)
OVERVIEW_FILE: Final = "account_overview_analytics.csv"

Counts = dict[str, int]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _side_counts(post: Post, moment: datetime) -> tuple[Counts, Counts | None]:
    """The legacy export's two sides of one Post at ``moment``: organic (with every count the
    API has no side for) and promoted (None when never promoted)."""
    tally = post.tally_at(moment)
    extra = post.analytics_totals_at(moment)
    promoted: Counts | None = None
    promoted_engagements = 0
    if post.promoted:
        side = tally.promoted
        values = {
            "impressions": side.impression_count if side else 0,
            "retweets": side.retweet_count if side else 0,
            "replies": side.reply_count if side else 0,
            "likes": side.like_count if side else 0,
            "user profile clicks": side.user_profile_clicks if side else 0,
            "url clicks": side.url_link_clicks if side else 0,
        }
        promoted_engagements = sum(v for k, v in values.items() if k != "impressions")
        promoted = {**values, "engagements": promoted_engagements}
    organic = {
        "impressions": tally.organic.impression_count,
        "engagements": _engagements(post, tally) - promoted_engagements,
        "retweets": tally.organic.retweet_count,
        "replies": tally.organic.reply_count,
        "likes": tally.organic.like_count,
        "user profile clicks": tally.organic.user_profile_clicks,
        "url clicks": tally.organic.url_link_clicks,
        "hashtag clicks": extra["hashtag_clicks"],
        "detail expands": extra["detail_expands"],
        "permalink clicks": extra["permalink_clicks"],
        "app opens": extra["app_opens"],
        "app installs": extra["app_install_attempts"],
        "follows": extra["follows"],
        "email tweet": extra["email_tweet"],
        "dial phone": 0,
        "media views": extra["media_views"],
        "media engagements": 0,
    }
    return organic, promoted


def _rate(counts: Counts) -> str:
    impressions = counts.get("impressions", 0)
    return repr(counts.get("engagements", 0) / impressions) if impressions else "0.0"


def _legacy_cells(organic: Counts, promoted: Counts | None) -> list[str]:
    """The 36 metric cells of a legacy row: counts as floats (``3423.0``) as X wrote them,
    ``-`` on the promoted side when never promoted."""
    cells: list[str] = []
    for name in _LEGACY_SIDE:
        cells.append(_rate(organic) if name == "engagement rate" else f"{organic.get(name, 0)}.0")
    for name in _LEGACY_SIDE:
        if promoted is None:
            cells.append("-")
        elif name == "engagement rate":
            cells.append(_rate(promoted))
        else:
            cells.append(f"{promoted.get(name, 0)}.0")
    return cells


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]], *, quote_all: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\n",
    )
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _posts_between(world: World, first: date, last: date) -> list[Post]:
    """The Demo account's Posts created on ``first``…``last`` (UTC), oldest first."""
    end = _midnight(last + timedelta(days=1))
    start = _midnight(first)
    posts = world.posts_by(world.demo_user_id, at=end - timedelta(microseconds=1))
    return sorted((p for p in posts if start <= p.created_at < end), key=lambda p: p.created_at)


def legacy_posts_export(world: World, handle: str, first: date, last: date) -> bytes:
    moment = _midnight(last + timedelta(days=1))
    rows = []
    for post in _posts_between(world, first, last):
        organic, promoted = _side_counts(post, moment)
        rows.append(
            [
                post.id,
                f"https://twitter.com/{handle}/status/{post.id}",
                html.escape(post.text, quote=False),
                post.created_at.strftime("%Y-%m-%d %H:%M +0000"),
                *_legacy_cells(organic, promoted),
            ]
        )
    return _csv(LEGACY_POSTS_HEADER, rows, quote_all=True)


def _day_growth(
    world: World, day: date, measure: Callable[[Post, datetime], Counts]
) -> tuple[Counts, int]:
    """Every count's growth on ``day`` summed over the Demo account's Posts, and how many
    Posts went out that day."""
    start, end = _midnight(day), _midnight(day + timedelta(days=1))
    totals: Counts = {}
    for post in world.posts_by(world.demo_user_id, at=end - timedelta(microseconds=1)):
        after = measure(post, end)
        before = measure(post, start) if post.created_at < start else {}
        for name, value in after.items():
            totals[name] = totals.get(name, 0) + value - before.get(name, 0)
    published = len(_posts_between(world, day, day))
    return totals, published


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def legacy_days_export(world: World, first: date, last: date) -> bytes:
    def sides(post: Post, moment: datetime) -> Counts:
        organic, promoted = _side_counts(post, moment)
        flat = {f"o:{k}": v for k, v in organic.items()}
        if promoted is not None:
            flat.update({f"p:{k}": v for k, v in promoted.items()})
        return flat

    rows = []
    for day in _days(first, last):
        totals, published = _day_growth(world, day, sides)
        organic = {k[2:]: v for k, v in totals.items() if k.startswith("o:")}
        promoted = {k[2:]: v for k, v in totals.items() if k.startswith("p:")}
        rows.append([day.isoformat(), f"{published}.0", *_legacy_cells(organic, promoted)])
    return _csv(LEGACY_DAYS_HEADER, rows, quote_all=True)


def _x_date(day: date) -> str:
    """``Sat, Aug 15, 2026``, as the current exports write a day."""
    return f"{day:%a}, {day:%b} {day.day}, {day.year}"


def _current_counts(post: Post, moment: datetime) -> Counts:
    metrics = post.metrics_at(moment)
    public = metrics["public_metrics"]
    extra = post.analytics_totals_at(moment)
    tally = post.tally_at(moment)
    return {
        "Impressions": tally.impressions,
        "Likes": public["like_count"],
        "Engagements": _engagements(post, tally),
        "Bookmarks": tally.bookmarks,
        "Shares": extra["shares"],
        "New follows": extra["follows"],
        "Unfollows": extra["unfollows"],
        "Replies": public["reply_count"],
        "Reposts": public["retweet_count"],
        "Profile visits": tally.total("user_profile_clicks"),
        "Detail Expands": extra["detail_expands"],
        "URL Clicks": tally.total("url_link_clicks"),
        "Hashtag Clicks": extra["hashtag_clicks"],
        "Permalink Clicks": extra["permalink_clicks"],
        "Media views": extra["media_views"],
    }


def content_export(world: World, handle: str, first: date, last: date) -> bytes:
    moment = _midnight(last + timedelta(days=1))
    rows = []
    for post in reversed(_posts_between(world, first, last)):
        counts = _current_counts(post, moment)
        rows.append(
            [
                post.id,
                _x_date(post.created_at.date()),
                post.text,
                f"https://x.com/{handle}/status/{post.id}",
                *(counts[name] for name in CONTENT_HEADER[4:]),
            ]
        )
    return _csv(CONTENT_HEADER, rows, quote_all=False)


def _video_views(world: World, post: Post, moment: datetime) -> int:
    """The views of the videos this Post carries that came through it (a video shared by
    several Posts counts each Post's share of its impressions, as the world does)."""
    views = 0
    for key in post.media_keys:
        item = world.media_item(key, at=moment)
        if item is None or item.video is None:
            continue
        tally = post.tally_at(moment)
        for carrier, share in item.video.carriers:
            if carrier.id == post.id:
                views += int(tally.organic.impression_count * share)
                if tally.promoted is not None:
                    views += int(tally.promoted.impression_count * share)
    return views


def overview_export(world: World, first: date, last: date) -> bytes:
    def counts(post: Post, moment: datetime) -> Counts:
        return {**_current_counts(post, moment), "Video views": _video_views(world, post, moment)}

    rows = []
    for day in reversed(_days(first, last)):
        totals, published = _day_growth(world, day, counts)
        rows.append(
            [
                _x_date(day),
                *(
                    published if name == "Create Post" else totals.get(name, 0)
                    for name in OVERVIEW_HEADER[1:]
                ),
            ]
        )
    return _csv(OVERVIEW_HEADER, rows, quote_all=False)


def demo_exports(world: World, *, at: datetime | None = None) -> dict[str, bytes]:
    """The Demo account's four exports at ``at`` (default the world's clock): file name →
    bytes, legacy per-Post, legacy per-day, content, overview. Each covers
    :data:`EXPORT_DAYS` whole UTC days ending the day before ``at`` (the legacy per-Post
    one :data:`LEGACY_LAG_DAYS` earlier)."""
    moment = world.now if at is None else at
    user = world.user(world.demo_user_id)
    handle = user.username if user is not None else "xmetrics_demo"
    last = (moment - timedelta(days=1)).date()
    first = last - timedelta(days=EXPORT_DAYS - 1)
    legacy_last = last - timedelta(days=LEGACY_LAG_DAYS)
    legacy_first = legacy_last - timedelta(days=EXPORT_DAYS - 1)

    def legacy_name(prefix: str, a: date, b: date) -> str:
        # X named the range by its first day and the day after its last
        return f"{prefix}{handle}_{a:%Y%m%d}_{b + timedelta(days=1):%Y%m%d}_en.csv"

    return {
        legacy_name("tweet_activity_metrics_", legacy_first, legacy_last): legacy_posts_export(
            world, handle, legacy_first, legacy_last
        ),
        legacy_name("daily_tweet_activity_metrics_", first, last): legacy_days_export(
            world, first, last
        ),
        f"account_analytics_content_{first:%Y-%m-%d}_{last:%Y-%m-%d}.csv": content_export(
            world, handle, first, last
        ),
        OVERVIEW_FILE: overview_export(world, first, last),
    }
