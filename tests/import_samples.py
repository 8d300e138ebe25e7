"""Export files for the importer's tests: X's real headers and rows written as X writes them.

The headers are copied from the real exports in ``/work/shared/x-exports`` (see its README);
``shared_export(name)`` gives a real file or skips the test, saying why, when that folder is
absent (the only tests allowed to skip).
"""

from __future__ import annotations

import codecs
import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SHARED = Path("/work/shared/x-exports")
LEGACY_POSTS_FILE = "tweet_activity_metrics_rOpenSci_20211201_20220101_en.csv"
LEGACY_DAYS_FILE = "daily_tweet_activity_metrics_LisaDeBruine_20211201_20220101_en.csv"
CONTENT_FILE = "account_analytics_content_2026-08-10_2026-08-16.csv"
OVERVIEW_FILE = "account_overview_analytics.csv"

COUNTS = [
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
]
LEGACY_POSTS_HEADER = [
    "Tweet id",
    "Tweet permalink",
    "Tweet text",
    "time",
    *COUNTS,
    *(f"promoted {c}" for c in COUNTS),
]
LEGACY_DAYS_HEADER = ["Date", "Tweets published", *COUNTS, *(f"promoted {c}" for c in COUNTS)]
CONTENT_HEADER = [
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
]
CONTENT_2025_HEADER = [
    "Post id",
    "Date",
    "Post text",
    "Link",
    "Impressions",
    "Likes",
    "Engagements",
    "Bookmarks",
    "Share",
    "New follows",
    "Replies",
    "Reposts",
    "Profile visits",
    "Detail expands",
    "Url clicks",
    "Hashtag clicks",
    "Permalink clicks",
]
OVERVIEW_HEADER = [
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
]
YOUTUBE_STUDIO = (
    "Content,Video title,Video publish time,Duration,Views,Watch time (hours),Subscribers,"
    "Impressions,Impressions click-through rate (%)\r\n"
    "Total,,,,2100,10.5,1,9000,5.1\r\n"
    'abc123,My video,"Sep 20, 2026",45,100,0.5,1,7000,5.4\r\n'
)


def shared_export(name: str) -> Path:
    """A real export from /work/shared/x-exports, or skip saying why."""
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the real exports are not on this machine")
    return path


@dataclass
class LegacyPost:
    """One Post of the legacy per-Post export; ``promoted`` None means never promoted."""

    post_id: int
    text: str = "Hello & welcome <3"
    time: str = "2021-12-28 16:45 +0000"
    organic: dict[str, int] = field(default_factory=dict)
    promoted: dict[str, int] | None = None
    handle: str = "rOpenSci"

    def count(self, name: str, side: dict[str, int] | None) -> int:
        if side is None:
            return 0
        return side.get(name, 0)

    def cells(self) -> list[str]:
        """The 40 cells as X writes them: counts as ``3423.0`` (the first eight) or ``0``,
        the rate as a full-precision fraction, ``-`` on the promoted side when never
        promoted, the text HTML-escaped."""
        return [
            str(self.post_id),
            f"https://twitter.com/{self.handle}/status/{self.post_id}",
            html.escape(self.text, quote=False),
            self.time,
            *self._side(self.organic, floats=True),
            *(self._side(self.promoted, floats=False) if self.promoted is not None else ["-"] * 18),
        ]

    def _side(self, values: dict[str, int], *, floats: bool) -> list[str]:
        cells = []
        for i, name in enumerate(COUNTS):
            if name == "engagement rate":
                impressions = values.get("impressions", 0)
                rate = values.get("engagements", 0) / impressions if impressions else 0.0
                cells.append(repr(rate))
                continue
            value = values.get(name, 0)
            cells.append(f"{value}.0" if floats and i < 9 else str(value))
        return cells


def legacy_posts(count: int = 3, *, promoted_every: int = 0) -> list[LegacyPost]:
    """``count`` Posts with varied counts; every ``promoted_every``-th one promoted."""
    posts = []
    for i in range(count):
        organic = {name: (i + 1) * (j + 2) for j, name in enumerate(COUNTS)}
        organic["impressions"] = 1000 * (i + 1)
        organic["engagements"] = 20 + i
        promoted = None
        if promoted_every and i % promoted_every == 0:
            promoted = {name: i + j for j, name in enumerate(COUNTS)}
            promoted["impressions"] = 500 + i
            promoted["engagements"] = 7 + i
        posts.append(
            LegacyPost(
                post_id=1_475_870_580_540_952_577 - i * 1_000_003,
                text=f"Post {i} &amp; friends\nsecond line",
                time=f"2021-12-{28 - i:02d} 16:{45 - i:02d} +0000",
                organic=organic,
                promoted=promoted,
            )
        )
    return posts


def csv_bytes(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str = ",",
    quote_all: bool = True,
    line_end: str = "\n",
    encoding: str = "utf-8",
    bom: bool = False,
) -> bytes:
    """A CSV file's bytes in the given dialect and encoding (the BOM for ``encoding``)."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator=line_end,
    )
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if bom:
        marks = {
            "utf-8": codecs.BOM_UTF8,
            "utf-16-le": codecs.BOM_UTF16_LE,
            "utf-16-be": codecs.BOM_UTF16_BE,
        }
        data = marks[encoding] + data
    return data


def legacy_posts_file(posts: Sequence[LegacyPost], **dialect: object) -> bytes:
    return csv_bytes(LEGACY_POSTS_HEADER, [p.cells() for p in posts], **dialect)  # type: ignore[arg-type]


LEGACY_NAME = "tweet_activity_metrics_rOpenSci_20211201_20220101_en.csv"


def content_rows(count: int = 3) -> list[list[str]]:
    """Rows of the current per-Post content export (dates like ``Sat, Aug 15, 2026``)."""
    rows = []
    for i in range(count):
        post_id = 2_088_707_180_694_323_466 - i * 1_000_000_007
        day = 15 - i
        weekday = ("Sat", "Fri", "Thu", "Wed", "Tue", "Mon", "Sun")[i % 7]
        rows.append(
            [
                str(post_id),
                f"{weekday}, Aug {day}, 2026",
                f"content Post {i} &amp; more",
                f"https://x.com/HestysInvest/status/{post_id}",
                *(str((i + 1) * (j + 3)) for j in range(13)),
            ]
        )
    return rows


def overview_rows(days: Sequence[tuple[str, int]]) -> list[list[str]]:
    """Overview rows for (``"Tue, Feb 18, 2025"``, impressions) pairs; other counts small."""
    return [
        [
            day,
            str(impressions),
            "1",
            str(impressions // 10),
            "0",
            "0",
            "2",
            "1",
            "0",
            "0",
            "1",
            "1",
            "0",
            "0",
        ]
        for day, impressions in days
    ]
