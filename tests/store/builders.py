"""Plain FetchResults with chosen times and counts, for the history tests (the sandbox tests
cover real fetches; these pin exact values and times)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from xmetrics_core.catalogue import ALL_GROUPS, Group
from xmetrics_core.models import FetchResult, IdStatus, MediaRecord, PostRecord, PostStatus
from xmetrics_core.references import TWITTER_EPOCH_MS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
ME = "4000000001"
SOMEONE = "4000000002"


def post_id(created: datetime, sequence: int = 0) -> str:
    """A snowflake ID that encodes ``created`` (so the store's age from the ID agrees)."""
    millis = int(created.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((millis << 22) | (sequence & 0xFFF))


Groups = Mapping[str, Mapping[str, int | None]]


def impressions(
    total: int, *, organic: int | None = None, likes: int = 0
) -> dict[str, dict[str, int | None]]:
    """All four groups with impressions ``total`` (organic + promoted = total) and likes."""
    organic_part = total if organic is None else organic
    promoted_part = total - organic_part
    return {
        Group.PUBLIC.value: {
            "impression_count": total,
            "retweet_count": 0,
            "quote_count": 0,
            "like_count": likes,
            "reply_count": 0,
            "bookmark_count": 0,
        },
        Group.NON_PUBLIC.value: {
            "impression_count": total,
            "url_link_clicks": 0,
            "user_profile_clicks": 0,
        },
        Group.ORGANIC.value: {
            "impression_count": organic_part,
            "retweet_count": 0,
            "like_count": likes,
            "reply_count": 0,
            "url_link_clicks": 0,
            "user_profile_clicks": 0,
        },
        Group.PROMOTED.value: {
            "impression_count": promoted_part,
            "retweet_count": 0,
            "like_count": 0,
            "reply_count": 0,
            "url_link_clicks": 0,
            "user_profile_clicks": 0,
        },
    }


def record(
    pid: str,
    *,
    created: datetime,
    metrics: Groups,
    author: str = ME,
    text: str = "",
    media_keys: Sequence[str] = (),
) -> PostRecord:
    return PostRecord(
        id=pid,
        text=text or f"Post {pid}",
        author_id=author,
        created_at=created,
        media_keys=tuple(media_keys),
        metrics=metrics,  # type: ignore[arg-type]
    )


def result(
    records: Sequence[PostRecord],
    *,
    at: datetime,
    statuses: Sequence[IdStatus] | None = None,
    media: Sequence[MediaRecord] = (),
    groups: Sequence[Group] = ALL_GROUPS,
) -> FetchResult:
    return FetchResult(
        posts=tuple(records),
        media=tuple(media),
        statuses=tuple(
            statuses
            if statuses is not None
            else [
                IdStatus(id=r.id, status=PostStatus.OK, source=r.id, position=n)
                for n, r in enumerate(records)
            ]
        ),
        groups=tuple(groups),
        api_calls=1,
        fetched_at=at,
    )


def video(
    key: str, carriers: Sequence[str], playbacks: Sequence[int], *, views: int = 0
) -> MediaRecord:
    quartiles = dict(
        zip(
            (
                "playback_0_count",
                "playback_25_count",
                "playback_50_count",
                "playback_75_count",
                "playback_100_count",
            ),
            playbacks,
            strict=True,
        )
    )
    return MediaRecord(
        media_key=key,
        type="video",
        duration_ms=30_000,
        post_ids=tuple(carriers),
        metrics={  # type: ignore[arg-type]
            Group.PUBLIC.value: {"view_count": views},
            Group.NON_PUBLIC.value: dict(quartiles),
            Group.ORGANIC.value: {**quartiles, "view_count": views},
        },
    )


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def child_env() -> dict[str, str]:
    """The environment for a child Python process running store code from this checkout."""
    import os
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }


def numbered_result(n: int, *, posts: int = 50, with_video: bool = True) -> FetchResult:
    """The n-th hourly read of the same ``posts`` Posts (deterministic: the same n gives the
    same result, so two writers saving it must store it once)."""
    created = [T0 + timedelta(minutes=k) for k in range(posts)]
    ids = [post_id(c, k) for k, c in enumerate(created)]
    records = [
        record(
            pid,
            created=c,
            metrics=impressions(100 * n + k),
            media_keys=[f"7_{k}"] if with_video else [],
        )
        for k, (pid, c) in enumerate(zip(ids, created, strict=True))
    ]
    media = (
        [video(f"7_{k}", [pid], [50 + n, 40, 30, 20, 10]) for k, pid in enumerate(ids)]
        if with_video
        else []
    )
    return result(records, at=T0 + timedelta(hours=n, seconds=1), media=media)
