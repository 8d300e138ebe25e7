"""A scripted X for unit tests without sockets: a :class:`~xmetrics_core.transport.Transport`.

It answers ``GET /2/users/me`` and ``GET /2/tweets`` from a dict of Posts the way X does (FACTS
§2): data for what the caller may read, a Field Authorization Error per private group of
someone else's Post, ``resource-not-found`` for a deleted one. ``answers`` can script any
request first (a 503, a 429 with headers …). Every request is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from xmetrics_core.transport import HttpRequest, HttpResponse

PRIVATE = ("non_public_metrics", "organic_metrics", "promoted_metrics")
PROBLEMS = "https://api.twitter.com/2/problems"


@dataclass(kw_only=True)
class FakePost:
    id: str
    author_id: str
    promoted: bool = False
    deleted: bool = False
    empty_when_promoted_asked: bool = False
    """X's known issue: a never-promoted Post asked for promoted metrics answers nothing."""

    def groups(self, asked: list[str]) -> dict[str, dict[str, int]]:
        values = {
            "public_metrics": {"like_count": int(self.id[-3:]), "impression_count": 10},
            "non_public_metrics": {"impression_count": 10, "url_link_clicks": 1},
            "organic_metrics": {"like_count": 1, "impression_count": 6},
            "promoted_metrics": {"like_count": 2, "impression_count": 4},
        }
        if not self.promoted:
            del values["promoted_metrics"]
        return {g: v for g, v in values.items() if g in asked}


def json_answer(status: int, body: object, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status=status, body=orjson.dumps(body), headers=headers or {})


@dataclass(kw_only=True)
class FakeX:
    me_id: str = "42"
    posts: dict[str, FakePost] = field(default_factory=dict)
    latency: float = 0.0
    answers: list[Callable[[HttpRequest], HttpResponse | None]] = field(default_factory=list)
    """Scripted answers, tried first, in order: a script returns None to pass."""
    requests: list[HttpRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, request: HttpRequest) -> HttpResponse:
        with self.lock:
            self.requests.append(request)
            scripts = list(self.answers)
        if self.latency:
            time.sleep(self.latency)
        for script in scripts:
            try:
                scripted = script(request)
            except Exception:  # a scripted transport failure: used once, like an answer
                self._drop(script)
                raise
            if scripted is not None:
                self._drop(script)
                return scripted
        path = urlsplit(request.url).path
        if path == "/2/users/me":
            return json_answer(200, {"data": {"id": self.me_id, "username": "me", "name": "Me"}})
        if path == "/2/tweets":
            return json_answer(200, self.lookup(dict(request.params or {})))
        return json_answer(404, {"title": "Not Found Error", "type": "about:blank"})

    def _drop(self, script: Callable[[HttpRequest], HttpResponse | None]) -> None:
        with self.lock:
            if script in self.answers:
                self.answers.remove(script)

    def close(self) -> None:
        pass

    def paths(self) -> list[str]:
        return [urlsplit(r.url).path for r in self.requests]

    def lookups(self) -> list[dict[str, str]]:
        return [dict(r.params or {}) for r in self.requests if r.url.endswith("/2/tweets")]

    def lookup(self, params: dict[str, str]) -> dict[str, Any]:
        asked = params["tweet.fields"].split(",")
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for post_id in params["ids"].split(","):
            post = self.posts.get(post_id)
            if post is None or post.deleted:
                errors.append(
                    {
                        "value": post_id,
                        "resource_id": post_id,
                        "detail": f"Could not find tweet with ids: [{post_id}].",
                        "title": "Not Found Error",
                        "type": f"{PROBLEMS}/resource-not-found",
                    }
                )
                continue
            private = [g for g in asked if g in PRIVATE]
            if private and post.author_id != self.me_id:
                errors.extend(
                    {
                        "value": post_id,
                        "resource_id": post_id,
                        "field": group,
                        "detail": f"Sorry, you are not authorized to access '{group}' on the Tweet.",
                        "title": "Field Authorization Error",
                        "type": f"{PROBLEMS}/not-authorized-for-field",
                    }
                    for group in private
                )
                continue
            if "promoted_metrics" in asked and post.empty_when_promoted_asked:
                continue
            data.append(
                {"id": post_id, "text": "t", "author_id": post.author_id, **post.groups(asked)}
            )
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return body
