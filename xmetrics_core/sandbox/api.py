"""The X API v2 read endpoints: request validation and response bodies.

Pure functions of (world, settings, caller, query) → :class:`ApiAnswer`; the HTTP layer
(``server.py``) adds authentication, rate limits, credits and faults around them.

Behaviour follows ``FACTS.md``:

* ``GET /2/tweets?ids=`` (1–100), ``GET /2/tweets/:id``, ``GET /2/users/:id/tweets``,
  ``GET /2/users/me``, with ``tweet.fields``, ``expansions`` (``attachments.media_keys``,
  ``author_id``, ``referenced_tweets.id`` and its ``.author_id`` and ``.attachments.media_keys``
  are served; the other documented values are accepted), ``media.fields`` and ``user.fields``;
  any other parameter or field value is a 400 invalid-request naming it.
* Everything is rendered at the sandbox clock's world time ``now``: which Posts exist, their
  metrics, the 30-day private window, ``edit_controls``.
* Private groups (non-public, organic, promoted) are served only to a user context whose user
  authored the Post, for Posts created at most 30 days before the sandbox clock. Otherwise the
  Post is dropped from ``data`` and one Field Authorization Error per requested sub-field is
  added (3 non-public — 4 with ``include_engagements`` —, 6 organic, 6 promoted). A body with
  nothing left in ``data`` has no ``data`` key.
* Media private groups appear only when the referencing Post is served with private groups and
  the caller owns the media; photos and animated GIFs never carry metric groups (silently).
* Posts of the suspended account, and of the protected account for anyone but its owner, give
  ``not-authorized-for-resource`` "Authorization Error"s; deleted or unknown IDs give
  "Not Found Error"s (``GET /2/tweets/:id``: status ``missing_single_post_status``).
* On the user timeline with private groups, the owner gets only Posts of the last 30 days (as
  X documents); anyone else gets Field Authorization Errors for each Post. ``since_id`` and
  ``until_id`` (exclusive) take precedence over ``start_time``/``end_time`` (inclusive); the
  world has replies but no Retweets, so ``exclude=retweets`` removes nothing.
* Videos' and GIFs' ``preview_image_url`` is ``media_base_url`` (the sandbox's own base URL)
  + ``/media/preview/<media_key>.svg``, which the server answers with a generated image.
* ``referenced_tweets.id`` puts replied-to and quoted Posts in ``includes.tweets`` with the same
  ``tweet.fields``; one the caller may not see gets its error with ``"section": "includes"``
  and ``"parameter": "referenced_tweets.id"`` (a deleted one: "Not Found Error", as captured;
  private groups of someone else's Post: Field Authorization Errors, and it leaves
  ``includes.tweets``; plhery/node-twitter-api-v2#432).
* Long Posts carry ``note_tweet.text`` (``text`` is cut at 280 characters); edited Posts list an
  earlier version in ``edit_history_tweet_ids`` (that version is not served).
* Not modelled: polls, places, context annotations, earlier versions of edited Posts, and the
  timeline's "next_token with result_count 0" edge case.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from xmetrics_core.sandbox import problems
from xmetrics_core.sandbox.settings import SandboxSettings
from xmetrics_core.sandbox.world import EDIT_WINDOW, Media, Post, World

JsonDict = dict[str, object]
Query = Mapping[str, Sequence[str]]

ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
MAX_EDITS = 5

TWEET_FIELDS = [
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "matched_media_notes",
    "media_metadata",
    "non_public_metrics",
    "note_request_suggestions",
    "note_tweet",
    "organic_metrics",
    "paid_partnership",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "suggested_source_links",
    "suggested_source_links_with_counts",
    "text",
    "withheld",
]
TWEET_EXPANSIONS = [
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "entities.note.mentions.username",
    "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys",
    "referenced_tweets.id.author_id",
]
MEDIA_FIELDS = [
    "alt_text",
    "duration_ms",
    "height",
    "media_key",
    "non_public_metrics",
    "organic_metrics",
    "preview_image_url",
    "promoted_metrics",
    "public_metrics",
    "type",
    "url",
    "variants",
    "width",
]
POLL_FIELDS = ["duration_minutes", "end_datetime", "id", "options", "voting_status"]
PLACE_FIELDS = [
    "contained_within",
    "country",
    "country_code",
    "full_name",
    "geo",
    "id",
    "name",
    "place_type",
]
USER_FIELDS = [
    "affiliation",
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
]
ME_EXPANSIONS = ["affiliation.user_id", "most_recent_tweet_id", "pinned_tweet_id"]

_FIELD_ENUMS: dict[str, list[str]] = {
    "tweet.fields": TWEET_FIELDS,
    "media.fields": MEDIA_FIELDS,
    "poll.fields": POLL_FIELDS,
    "place.fields": PLACE_FIELDS,
    "user.fields": USER_FIELDS,
}
#: Parameter names as X lists them in "is not one of [...]" messages.
_FIELD_PARAMS = (
    "expansions",
    "tweet.fields",
    "media.fields",
    "poll.fields",
    "place.fields",
    "user.fields",
)
#: The order in which X reports bad values of those parameters (captured).
_VALUE_CHECK_ORDER = (
    "tweet.fields",
    "media.fields",
    "poll.fields",
    "place.fields",
    "user.fields",
    "expansions",
)

PRIVATE_GROUPS = ("non_public_metrics", "organic_metrics", "promoted_metrics")
_SPLIT_FIELDS = (
    "impression_count",
    "like_count",
    "reply_count",
    "retweet_count",
    "url_link_clicks",
    "user_profile_clicks",
)


def private_sub_fields(group: str, settings: SandboxSettings) -> tuple[str, ...]:
    """The sub-fields X names in Field Authorization Errors for one private group."""
    if group == "non_public_metrics":
        base = ("impression_count", "url_link_clicks", "user_profile_clicks")
        return (*base, "engagements") if settings.include_engagements else base
    return _SPLIT_FIELDS


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who is asking: ``kind`` ∈ bearer | oauth1 | oauth2_user; ``user_id`` for user contexts."""

    kind: str
    user_id: str | None = None

    @property
    def user_context(self) -> bool:
        return self.kind in ("oauth1", "oauth2_user") and self.user_id is not None


@dataclass(frozen=True, kw_only=True)
class ApiAnswer:
    """An HTTP status, a JSON body and the IDs of the Posts it served (``data`` and
    ``includes.tweets``: what X bills)."""

    status: int
    body: JsonDict
    served_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Request:
    tweet_fields: frozenset[str]
    expansions: frozenset[str]
    media_fields: frozenset[str]
    user_fields: frozenset[str]
    private_groups: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        groups = tuple(g for g in PRIVATE_GROUPS if g in self.tweet_fields)
        object.__setattr__(self, "private_groups", groups)


def csv_values(values: Sequence[str]) -> list[str]:
    """The comma-separated values of a (possibly repeated) query parameter."""
    return [v for v in ",".join(values).split(",") if v != ""] if values else []


def unknown_parameter_errors(query: Query, allowed_params: Sequence[str]) -> list[JsonDict]:
    """One error per query parameter the endpoint does not take."""
    return [
        problems.parameter_error(
            name,
            query[name],
            f"The query parameter [{name}] is not one of [{','.join(allowed_params)}]",
        )
        for name in query
        if name not in allowed_params
    ]


def enum_errors(query: Query, name: str, enum: Sequence[str]) -> list[JsonDict]:
    """Errors for a repeated parameter and for every value of ``name`` outside ``enum``."""
    if name not in query:
        return []
    errors: list[JsonDict] = []
    if len(query[name]) > 1:
        errors.append(
            problems.parameter_error(
                name,
                query[name],
                f"Duplicate parameters are not allowed: the `{name}` query parameter",
            )
        )
    for value in csv_values(query[name]):
        if value not in enum:
            errors.append(
                problems.parameter_error(
                    name,
                    [value],
                    f"The `{name}` query parameter value [{value}] is not one of "
                    f"[{','.join(enum)}]",
                )
            )
    return errors


def validate_fields(
    query: Query, allowed_params: Sequence[str], expansions_enum: Sequence[str]
) -> list[JsonDict]:
    """Unknown parameters, then bad field and expansion values in X's reporting order."""
    errors = unknown_parameter_errors(query, allowed_params)
    for name in _VALUE_CHECK_ORDER:
        if name in allowed_params:
            enum = list(expansions_enum) if name == "expansions" else _FIELD_ENUMS[name]
            errors.extend(enum_errors(query, name, enum))
    return errors


def _parse_request(query: Query) -> _Request:
    def values(name: str) -> frozenset[str]:
        return frozenset(csv_values(query.get(name, [])))

    return _Request(
        tweet_fields=values("tweet.fields"),
        expansions=values("expansions"),
        media_fields=values("media.fields"),
        user_fields=values("user.fields"),
    )


@dataclass(kw_only=True)
class _Rendered:
    data: list[JsonDict] = field(default_factory=list)
    errors: list[JsonDict] = field(default_factory=list)
    served: list[tuple[Post, bool]] = field(default_factory=list)

    @property
    def served_ids(self) -> tuple[str, ...]:
        return tuple(post.id for post, _ in self.served)


class ApiRenderer:
    """Builds v2 bodies for one world and settings, at the sandbox clock's ``now``."""

    def __init__(self, *, world: World, settings: SandboxSettings, media_base_url: str) -> None:
        self.world = world
        self.settings = settings
        self.host = settings.problem_host
        self.media_base_url = media_base_url

    # -- Posts --------------------------------------------------------------------------------
    def _post_json(
        self, post: Post, request: _Request, *, private: bool, now: datetime
    ) -> JsonDict:
        body: JsonDict = {
            "id": post.id,
            "text": post.text,
            "edit_history_tweet_ids": list(post.edit_history_tweet_ids),
        }
        fields = request.tweet_fields
        if "attachments" in fields and post.media_keys:
            body["attachments"] = {"media_keys": list(post.media_keys)}
        if "author_id" in fields:
            body["author_id"] = post.author_id
        if "created_at" in fields:
            body["created_at"] = post.created_at_text
        if "edit_controls" in fields:
            remaining = MAX_EDITS - len(post.earlier_version_ids)
            body["edit_controls"] = {
                "edits_remaining": remaining,
                "is_edit_eligible": remaining > 0 and now < post.created_at + EDIT_WINDOW,
                "editable_until": post.editable_until_text,
            }
        if "conversation_id" in fields:
            body["conversation_id"] = post.replied_to_id or post.id
        if "lang" in fields:
            body["lang"] = "en"
        if "possibly_sensitive" in fields:
            body["possibly_sensitive"] = False
        if "reply_settings" in fields:
            body["reply_settings"] = "everyone"
        if "entities" in fields and (entities := post.entities()) is not None:
            body["entities"] = entities
        if "in_reply_to_user_id" in fields and post.in_reply_to_user_id:
            body["in_reply_to_user_id"] = post.in_reply_to_user_id
        if "referenced_tweets" in fields and (referenced := _referenced(post)):
            body["referenced_tweets"] = [{"type": kind, "id": ref} for kind, ref in referenced]
        if "note_tweet" in fields and post.note_text is not None:
            body["note_tweet"] = {"text": post.note_text}
        wanted = list(request.private_groups) if private else []
        if "public_metrics" in fields or wanted:
            groups = post.metrics_at(now)
            if "public_metrics" in fields:
                body["public_metrics"] = groups["public_metrics"]
            for group in wanted:
                values = groups.get(group)
                if values is not None:
                    body[group] = values
        return body

    def _resource_error(
        self, post: Post, caller: Caller, parameter: str, *, section: str = "data"
    ) -> JsonDict | None:
        author = self.world.user(post.author_id)
        if author is None:
            return None
        hidden = author.suspended or (author.protected and caller.user_id != author.id)
        if not hidden:
            return None
        return problems.not_authorized_for_resource(
            self.host, resource_type="tweet", parameter=parameter, value=post.id, section=section
        )

    def _field_errors(
        self, post: Post, request: _Request, parameter: str, *, section: str = "data"
    ) -> list[JsonDict]:
        return [
            problems.field_unauthorized(
                self.host,
                field=f"{group}.{sub}",
                parameter=parameter,
                value=post.id,
                section=section,
            )
            for group in request.private_groups
            for sub in private_sub_fields(group, self.settings)
        ]

    def _render_posts(
        self,
        posts: Sequence[Post | str],
        request: _Request,
        caller: Caller,
        *,
        parameter: str,
        now: datetime,
        section: str = "data",
    ) -> _Rendered:
        out = _Rendered()
        for item in posts:
            if isinstance(item, str):
                out.errors.append(
                    problems.not_found(
                        self.host, resource_type="tweet", parameter=parameter, value=item
                    )
                )
                continue
            post = item
            resource_error = self._resource_error(post, caller, parameter, section=section)
            if resource_error is not None:
                out.errors.append(resource_error)
                continue
            private = bool(request.private_groups)
            if private:
                allowed = (
                    caller.user_context
                    and caller.user_id == post.author_id
                    and post.within_private_window(now)
                )
                if not allowed:
                    out.errors.extend(self._field_errors(post, request, parameter, section=section))
                    continue
                if (
                    "promoted_metrics" in request.private_groups
                    and not post.promoted
                    and self.settings.unpromoted_promoted_metrics == "empty"
                ):
                    continue  # the documented "known issue": silently left out
            out.data.append(self._post_json(post, request, private=private, now=now))
            out.served.append((post, private))
        return out

    def _referenced(
        self, rendered: _Rendered, request: _Request, caller: Caller, now: datetime
    ) -> _Rendered:
        """``includes.tweets``: the Posts the served ones reply to or quote."""
        if "referenced_tweets.id" not in request.expansions:
            return _Rendered()
        wanted: dict[str, None] = {}
        for post, _private in rendered.served:
            for _kind, ref in _referenced(post):
                wanted.setdefault(ref, None)
        items: list[Post | str] = [self.world.post(ref, at=now) or ref for ref in wanted]
        return self._render_posts(
            items,
            request,
            caller,
            parameter="referenced_tweets.id",
            now=now,
            section="includes",
        )

    def _includes(
        self,
        rendered: _Rendered,
        referenced: _Rendered,
        request: _Request,
        caller: Caller,
        now: datetime,
    ) -> JsonDict:
        includes: JsonDict = {}
        expansions = request.expansions
        media_from = list(rendered.served) if "attachments.media_keys" in expansions else []
        if "referenced_tweets.id.attachments.media_keys" in expansions:
            media_from += referenced.served
        if media_from:
            media: list[JsonDict] = []
            seen: set[str] = set()
            for post, private in media_from:
                for key in post.media_keys:
                    item = self.world.media_item(key, at=now)
                    if item is None or key in seen:
                        continue
                    seen.add(key)
                    media.append(
                        item.as_json(
                            request.media_fields,
                            private_allowed=self._media_private(item, caller, private),
                            media_base_url=self.media_base_url,
                            at=now,
                        )
                    )
            if media:
                includes["media"] = media
        authors_of = [p for p, _ in rendered.served] if "author_id" in expansions else []
        if "referenced_tweets.id.author_id" in expansions:
            authors_of += [p for p, _ in referenced.served]
        if authors_of:
            users: list[JsonDict] = []
            seen_users: set[str] = set()
            for post in authors_of:
                author = self.world.user(post.author_id)
                if author is None or author.id in seen_users:
                    continue
                seen_users.add(author.id)
                users.append(author.as_json(request.user_fields))
            if users:
                includes["users"] = users
        if referenced.data:
            includes["tweets"] = referenced.data
        return includes

    @staticmethod
    def _media_private(item: Media, caller: Caller, post_private: bool) -> bool:
        return post_private and caller.user_context and caller.user_id == item.owner_id

    def _assemble(
        self, rendered: _Rendered, request: _Request, caller: Caller, now: datetime
    ) -> tuple[JsonDict, tuple[str, ...]]:
        """The body, and the IDs of every Post it serves (``data`` and ``includes.tweets``)."""
        body: JsonDict = {}
        if rendered.data:
            body["data"] = rendered.data
        referenced = self._referenced(rendered, request, caller, now)
        includes = self._includes(rendered, referenced, request, caller, now)
        if includes:
            body["includes"] = includes
        errors = rendered.errors + referenced.errors
        if errors:
            body["errors"] = errors
        return body, rendered.served_ids + referenced.served_ids

    # -- GET /2/tweets ------------------------------------------------------------------------
    def tweets_lookup(self, query: Query, caller: Caller, *, now: datetime) -> ApiAnswer:
        """``GET /2/tweets?ids=...``."""
        allowed = ["ids", *_FIELD_PARAMS]
        errors: list[JsonDict] = []
        raw_ids = query.get("ids", [])
        ids = csv_values(raw_ids)
        if not ids:
            errors.append(
                problems.parameter_error("ids", [], "The `ids` query parameter can not be empty")
            )
        elif len(ids) > 100:
            errors.append(
                problems.parameter_error(
                    "ids",
                    [",".join(raw_ids)],
                    f"The number of values in the `ids` query parameter list [{len(ids)}] "
                    "is not between 1 and 100",
                )
            )
        else:
            for value in ids:
                if not ID_PATTERN.match(value):
                    errors.append(
                        problems.parameter_error(
                            "ids",
                            [value],
                            f"The `ids` query parameter value [{value}] is not valid",
                        )
                    )
        errors.extend(validate_fields(query, allowed, TWEET_EXPANSIONS))
        if errors:
            return ApiAnswer(status=400, body=problems.invalid_request(self.host, errors))
        request = _parse_request(query)
        unique = list(dict.fromkeys(ids))
        items: list[Post | str] = [self.world.post(i, at=now) or i for i in unique]
        rendered = self._render_posts(items, request, caller, parameter="ids", now=now)
        body, served = self._assemble(rendered, request, caller, now)
        return ApiAnswer(status=200, body=body, served_ids=served)

    # -- GET /2/tweets/:id --------------------------------------------------------------------
    def tweet_by_id(
        self, post_id: str, query: Query, caller: Caller, *, now: datetime
    ) -> ApiAnswer:
        """``GET /2/tweets/:id``."""
        allowed = ["id", *_FIELD_PARAMS]
        errors: list[JsonDict] = []
        given = [post_id, *query.get("id", [])]
        for value in given:
            if not ID_PATTERN.match(value):
                errors.append(
                    problems.parameter_error(
                        "id", given, f"The `id` query parameter value [{value}] is not valid"
                    )
                )
        if len(given) > 1:
            errors.append(
                problems.parameter_error(
                    "id", given, "Duplicate parameters are not allowed: the `id` query parameter"
                )
            )
        errors.extend(validate_fields(query, allowed, TWEET_EXPANSIONS))
        if errors:
            return ApiAnswer(status=400, body=problems.invalid_request(self.host, errors))
        request = _parse_request(query)
        post = self.world.post(post_id, at=now)
        rendered = self._render_posts([post or post_id], request, caller, parameter="id", now=now)
        body, served = self._assemble(rendered, request, caller, now)
        if rendered.data:
            body["data"] = rendered.data[0]
        status = 200
        if post is None:
            status = self.settings.missing_single_post_status
        return ApiAnswer(status=status, body=body, served_ids=served)

    # -- GET /2/users/me ----------------------------------------------------------------------
    def users_me(self, query: Query, caller: Caller) -> ApiAnswer:
        """``GET /2/users/me`` (the caller must be a user context)."""
        allowed = ["user.fields", "expansions", "tweet.fields"]
        errors = validate_fields(query, allowed, ME_EXPANSIONS)
        if errors:
            return ApiAnswer(status=400, body=problems.invalid_request(self.host, errors))
        user = self.world.user(caller.user_id or "")
        if user is None:
            return ApiAnswer(status=401, body=problems.unauthorized())
        request = _parse_request(query)
        return ApiAnswer(status=200, body={"data": user.as_json(request.user_fields)})

    # -- GET /2/users/:id/tweets --------------------------------------------------------------
    def user_tweets(
        self, user_id: str, query: Query, caller: Caller, *, now: datetime
    ) -> ApiAnswer:
        """``GET /2/users/:id/tweets`` with paging, time window and exclusions."""
        allowed = [
            "id",
            "since_id",
            "until_id",
            "max_results",
            "pagination_token",
            "exclude",
            "start_time",
            "end_time",
            *_FIELD_PARAMS,
        ]
        errors: list[JsonDict] = []
        if not ID_PATTERN.match(user_id):
            errors.append(
                problems.parameter_error(
                    "id", [user_id], f"The `id` query parameter value [{user_id}] is not valid"
                )
            )
        errors.extend(validate_fields(query, allowed, TWEET_EXPANSIONS))
        max_results = 10
        if "max_results" in query:
            raw = query["max_results"][0]
            if not raw.isdigit() or not 5 <= int(raw) <= 100:
                errors.append(
                    problems.parameter_error(
                        "max_results",
                        [raw],
                        f"The `max_results` query parameter value [{raw}] is not between 5 and 100",
                    )
                )
            else:
                max_results = int(raw)
        for name in ("since_id", "until_id"):
            if name in query and not ID_PATTERN.match(query[name][0]):
                value = query[name][0]
                errors.append(
                    problems.parameter_error(
                        name, [value], f"The `{name}` query parameter value [{value}] is not valid"
                    )
                )
        bounds: dict[str, datetime] = {}
        for name in ("start_time", "end_time"):
            if name in query:
                value = query[name][0]
                parsed = parse_time(value)
                if parsed is None:
                    errors.append(
                        problems.parameter_error(
                            name,
                            [value],
                            f"The `{name}` query parameter value [{value}] is not a valid "
                            "RFC3339 date-time",
                        )
                    )
                else:
                    bounds[name] = parsed
        exclude = set(csv_values(query.get("exclude", [])))
        for value in sorted(exclude - {"replies", "retweets"}):
            errors.append(
                problems.parameter_error(
                    "exclude",
                    [value],
                    f"The `exclude` query parameter value [{value}] is not one of [replies,retweets]",
                )
            )
        offset = 0
        if "pagination_token" in query:
            decoded = decode_page_token(query["pagination_token"][0], user_id)
            if decoded is None:
                value = query["pagination_token"][0]
                errors.append(
                    problems.parameter_error(
                        "pagination_token",
                        [value],
                        f"The `pagination_token` query parameter value [{value}] is not valid",
                    )
                )
            else:
                offset = decoded
        if errors:
            return ApiAnswer(status=400, body=problems.invalid_request(self.host, errors))

        user = self.world.user(user_id)
        if user is None:
            return ApiAnswer(
                status=200,
                body={
                    "errors": [
                        problems.not_found(
                            self.host, resource_type="user", parameter="id", value=user_id
                        )
                    ]
                },
            )
        if user.suspended:
            return ApiAnswer(
                status=200,
                body={
                    "errors": [
                        problems.user_suspended(
                            self.host, parameter="id", value=user_id, username=user.username
                        )
                    ]
                },
            )
        if user.protected and caller.user_id != user.id:
            return ApiAnswer(
                status=200,
                body={
                    "errors": [
                        problems.not_authorized_for_resource(
                            self.host, resource_type="user", parameter="id", value=user_id
                        )
                    ]
                },
            )

        request = _parse_request(query)
        posts = list(self.world.posts_by(user_id, at=now))
        if "replies" in exclude:
            posts = [p for p in posts if p.replied_to_id is None]
        if "since_id" in query or "until_id" in query:
            if "since_id" in query:
                posts = [p for p in posts if int(p.id) > int(query["since_id"][0])]
            if "until_id" in query:
                posts = [p for p in posts if int(p.id) < int(query["until_id"][0])]
        else:
            if "start_time" in bounds:
                posts = [p for p in posts if p.created_at >= bounds["start_time"]]
            if "end_time" in bounds:
                posts = [p for p in posts if p.created_at <= bounds["end_time"]]
        owner_private = (
            bool(request.private_groups) and caller.user_context and caller.user_id == user_id
        )
        if owner_private:
            posts = [p for p in posts if p.within_private_window(now)]
        page = posts[offset : offset + max_results]
        rendered = self._render_posts(page, request, caller, parameter="id", now=now)
        body, served = self._assemble(rendered, request, caller, now)
        meta: JsonDict = {"result_count": len(rendered.data)}
        if rendered.data:
            meta["newest_id"] = str(rendered.data[0]["id"])
            meta["oldest_id"] = str(rendered.data[-1]["id"])
        if offset + max_results < len(posts):
            meta["next_token"] = encode_page_token(offset + max_results, user_id)
        if offset > 0:
            meta["previous_token"] = encode_page_token(max(0, offset - max_results), user_id)
        body["meta"] = meta
        return ApiAnswer(status=200, body=body, served_ids=served)


def _referenced(post: Post) -> list[tuple[str, str]]:
    """``(type, id)`` of the Posts this one replies to and quotes."""
    found: list[tuple[str, str]] = []
    if post.replied_to_id:
        found.append(("replied_to", post.replied_to_id))
    if post.quoted_id:
        found.append(("quoted", post.quoted_id))
    return found


def parse_time(value: str) -> datetime | None:
    """An RFC 3339 time with a zone (``2026-12-01T00:00:00Z``), or None."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _to_base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if number == 0:
            return digits


def encode_page_token(offset: int, user_id: str) -> str:
    """An opaque base36 pagination token for ``offset`` on one user's timeline."""
    check = zlib.crc32(f"{user_id}:{offset}".encode())
    return _to_base36((offset << 32) | check).rjust(12, "0")


def decode_page_token(token: str, user_id: str) -> int | None:
    """The offset in a token made by :func:`encode_page_token`, or None if it is not one."""
    if not token or len(token) > 20 or any(c not in _BASE36 for c in token):
        return None
    number = int(token, 36)
    offset, check = number >> 32, number & 0xFFFFFFFF
    if zlib.crc32(f"{user_id}:{offset}".encode()) != check:
        return None
    return offset
