"""The v2 read endpoints over real HTTP: bodies, statuses and every error case of FACTS §2."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.sandbox.helpers import (
    ALL_MEDIA_FIELDS,
    ALL_TWEET_FIELDS,
    PRIVATE_TWEET_FIELDS,
    TIMEOUT,
    SandboxFactory,
    bearer,
    get,
    oauth1,
    user_bearer,
)
from xmetrics_core.sandbox import Sandbox, SandboxSettings
from xmetrics_core.sandbox.api import private_sub_fields
from xmetrics_core.sandbox.world import Media, Post, format_time

INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"


def recent_demo_posts(sandbox: Sandbox) -> list[Post]:
    now = sandbox.clock.now()
    return [p for p in sandbox.world.demo_posts if p.within_private_window(now)]


def old_demo_posts(sandbox: Sandbox) -> list[Post]:
    now = sandbox.clock.now()
    return [p for p in sandbox.world.demo_posts if not p.within_private_window(now)]


def other_post(sandbox: Sandbox) -> Post:
    world = sandbox.world
    hidden = {world.demo_user_id, world.protected_user_id, world.suspended_user_id}
    return next(p for p in world.posts if p.author_id not in hidden)


# -- GET /2/tweets ------------------------------------------------------------------------------


def test_bearer_lookup_serves_public_metrics_exactly_as_ground_truth(sandbox: Sandbox) -> None:
    posts = sandbox.world.demo_posts[:20]
    response = get(
        sandbox,
        "/2/tweets",
        params={"ids": ",".join(p.id for p in posts), "tweet.fields": "public_metrics,created_at"},
        headers=bearer(sandbox),
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}
    assert [d["id"] for d in body["data"]] == [p.id for p in posts]
    for item, post in zip(body["data"], posts, strict=True):
        assert item["public_metrics"] == dict(post.public_metrics)
        assert item["created_at"] == format_time(post.created_at)
        assert item["text"] == post.text
        assert item["edit_history_tweet_ids"] == list(post.edit_history_tweet_ids)
        assert "non_public_metrics" not in item


def test_default_fields_are_id_text_and_edit_history(sandbox: Sandbox) -> None:
    post = sandbox.world.demo_posts[3]
    body = get(sandbox, "/2/tweets", params={"ids": post.id}, headers=bearer(sandbox)).json()
    assert body == {
        "data": [
            {
                "id": post.id,
                "text": post.text,
                "edit_history_tweet_ids": list(post.edit_history_tweet_ids),
            }
        ]
    }


def test_owner_gets_every_private_group_for_recent_posts(sandbox: Sandbox) -> None:
    posts = recent_demo_posts(sandbox)
    response = get(
        sandbox,
        "/2/tweets",
        params={"ids": ",".join(p.id for p in posts), "tweet.fields": ALL_TWEET_FIELDS},
        auth=oauth1(sandbox),
    )
    body = response.json()
    assert response.status_code == 200
    assert "errors" not in body
    served = {d["id"]: d for d in body["data"]}
    assert set(served) == {p.id for p in posts}
    for post in posts:
        item = served[post.id]
        for group, values in post.metrics.items():
            assert item[group] == dict(values)
        assert ("promoted_metrics" in item) is post.promoted


def test_unowned_post_is_dropped_with_fifteen_field_authorization_errors(sandbox: Sandbox) -> None:
    post = other_post(sandbox)
    body = get(
        sandbox,
        "/2/tweets",
        params={"ids": post.id, "tweet.fields": f"public_metrics,{PRIVATE_TWEET_FIELDS}"},
        auth=oauth1(sandbox),
    ).json()
    assert "data" not in body
    assert len(body["errors"]) == 15
    assert body["errors"][0] == {
        "resource_type": "tweet",
        "field": "non_public_metrics.impression_count",
        "parameter": "ids",
        "resource_id": post.id,
        "title": "Field Authorization Error",
        "section": "data",
        "detail": (
            "Sorry, you are not authorized to access 'non_public_metrics.impression_count' "
            f"on the Tweet with ids : [{post.id}]."
        ),
        "value": post.id,
        "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
    }
    fields = [e["field"] for e in body["errors"]]
    assert fields[:3] == [
        "non_public_metrics.impression_count",
        "non_public_metrics.url_link_clicks",
        "non_public_metrics.user_profile_clicks",
    ]
    assert sum(f.startswith("organic_metrics.") for f in fields) == 6
    assert sum(f.startswith("promoted_metrics.") for f in fields) == 6


def test_owned_post_older_than_30_days_is_refused_private_groups(sandbox: Sandbox) -> None:
    old = old_demo_posts(sandbox)[0]
    recent = recent_demo_posts(sandbox)[1]
    body = get(
        sandbox,
        "/2/tweets",
        params={"ids": f"{old.id},{recent.id}", "tweet.fields": "organic_metrics"},
        auth=oauth1(sandbox),
    ).json()
    assert [d["id"] for d in body["data"]] == [recent.id]
    assert {e["resource_id"] for e in body["errors"]} == {old.id}
    assert len(body["errors"]) == 6


def test_app_only_token_is_refused_private_groups_even_for_demo_posts(sandbox: Sandbox) -> None:
    post = recent_demo_posts(sandbox)[1]
    body = get(
        sandbox,
        "/2/tweets",
        params={"ids": post.id, "tweet.fields": "non_public_metrics"},
        headers=bearer(sandbox),
    ).json()
    assert "data" not in body
    assert [e["field"] for e in body["errors"]] == [
        f"non_public_metrics.{f}"
        for f in ("impression_count", "url_link_clicks", "user_profile_clicks")
    ]


def test_oauth2_user_token_of_another_account_sees_only_its_own_private_metrics(
    sandbox: Sandbox,
) -> None:
    account = sandbox.accounts[3]
    theirs = [
        p
        for p in sandbox.world.posts_by(account.user_id)
        if p.within_private_window(sandbox.clock.now())
    ]
    demo = recent_demo_posts(sandbox)[1]
    body = get(
        sandbox,
        "/2/tweets",
        params={
            "ids": ",".join([demo.id, *(p.id for p in theirs)]),
            "tweet.fields": "non_public_metrics",
        },
        headers=user_bearer(sandbox, account.user_id),
    ).json()
    assert [d["id"] for d in body["data"]] == [p.id for p in theirs]
    assert all(
        d["non_public_metrics"] == dict(p.non_public_metrics)
        for d, p in zip(body["data"], theirs, strict=True)
    )
    assert {e["resource_id"] for e in body["errors"]} == {demo.id}


def test_deleted_ids_give_not_found_errors_and_found_posts_stay(sandbox: Sandbox) -> None:
    deleted = sandbox.world.deleted_ids[0]
    post = sandbox.world.demo_posts[2]
    body = get(
        sandbox, "/2/tweets", params={"ids": f"{deleted},{post.id}"}, headers=bearer(sandbox)
    ).json()
    assert [d["id"] for d in body["data"]] == [post.id]
    assert body["errors"] == [
        {
            "value": deleted,
            "detail": f"Could not find tweet with ids: [{deleted}].",
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": "ids",
            "resource_id": deleted,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }
    ]


def test_only_missing_ids_give_an_errors_only_body(sandbox: Sandbox) -> None:
    deleted = sandbox.world.deleted_ids[:2]
    response = get(sandbox, "/2/tweets", params={"ids": ",".join(deleted)}, headers=bearer(sandbox))
    assert response.status_code == 200
    assert set(response.json()) == {"errors"}


@pytest.mark.parametrize("which", ["protected", "suspended"])
def test_hidden_accounts_posts_give_authorization_errors(sandbox: Sandbox, which: str) -> None:
    world = sandbox.world
    author = world.protected_user_id if which == "protected" else world.suspended_user_id
    post = world.posts_by(author)[0]
    body = get(sandbox, "/2/tweets", params={"ids": post.id}, headers=bearer(sandbox)).json()
    assert body == {
        "errors": [
            {
                "value": post.id,
                "parameter": "ids",
                "resource_id": post.id,
                "resource_type": "tweet",
                "section": "data",
                "title": "Authorization Error",
                "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{post.id}].",
                "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
            }
        ]
    }


def test_protected_account_sees_its_own_posts(sandbox: Sandbox) -> None:
    account = next(a for a in sandbox.accounts if a.user_id == sandbox.world.protected_user_id)
    post = sandbox.world.posts_by(account.user_id)[0]
    body = get(sandbox, "/2/tweets", params={"ids": post.id}, auth=oauth1(sandbox, account)).json()
    assert [d["id"] for d in body["data"]] == [post.id]


def test_empty_ids_is_an_invalid_request(sandbox: Sandbox) -> None:
    response = get(sandbox, "/2/tweets", headers=bearer(sandbox))
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"parameters": {"ids": []}, "message": "The `ids` query parameter can not be empty"}
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": INVALID_REQUEST,
    }


def test_malformed_id_and_unknown_values_are_each_named(sandbox: Sandbox) -> None:
    response = get(
        sandbox,
        "/2/tweets",
        params={"ids": "dummy", "tweet.fields": "dummy", "dummy": "value"},
        headers=bearer(sandbox),
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0] == {
        "parameters": {"ids": ["dummy"]},
        "message": "The `ids` query parameter value [dummy] is not valid",
    }
    assert errors[1] == {
        "parameters": {"dummy": ["value"]},
        "message": (
            "The query parameter [dummy] is not one of "
            "[ids,expansions,tweet.fields,media.fields,poll.fields,place.fields,user.fields]"
        ),
    }
    assert errors[2]["parameters"] == {"tweet.fields": ["dummy"]}
    assert errors[2]["message"].startswith(
        "The `tweet.fields` query parameter value [dummy] is not one of ["
    )


def test_more_than_100_ids_is_an_invalid_request(sandbox: Sandbox) -> None:
    ids = [p.id for p in sandbox.world.posts[:101]]
    response = get(sandbox, "/2/tweets", params={"ids": ",".join(ids)}, headers=bearer(sandbox))
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "The number of values in the `ids` query parameter list [101] is not between 1 and 100"
    )


def test_exactly_100_ids_are_served(sandbox: Sandbox) -> None:
    world = sandbox.world
    hidden = {world.protected_user_id, world.suspended_user_id}
    ids = [p.id for p in world.posts if p.author_id not in hidden][:100]
    body = get(sandbox, "/2/tweets", params={"ids": ",".join(ids)}, headers=bearer(sandbox)).json()
    assert len(body["data"]) == 100


def test_media_and_author_expansions_for_the_owner(sandbox: Sandbox) -> None:
    world = sandbox.world
    shared = next(m for m in world.media if len(m.post_ids) == 2)
    body = get(
        sandbox,
        "/2/tweets",
        params={
            "ids": ",".join(shared.post_ids),
            "tweet.fields": ALL_TWEET_FIELDS,
            "expansions": "attachments.media_keys,author_id",
            "media.fields": ALL_MEDIA_FIELDS,
            "user.fields": "created_at,public_metrics",
        },
        auth=oauth1(sandbox),
    ).json()
    now = sandbox.clock.now()
    carriers = [p for p in world.demo_posts if p.id in shared.post_ids]
    expected_private = any(p.within_private_window(now) for p in carriers)
    media = body["includes"]["media"]
    assert [m["media_key"] for m in media] == [shared.media_key]
    assert media[0]["public_metrics"] == dict(shared.public_metrics or {})
    assert ("organic_metrics" in media[0]) is expected_private
    users = body["includes"]["users"]
    assert [u["id"] for u in users] == [world.demo_user_id]
    assert set(users[0]) == {"id", "name", "username", "created_at", "public_metrics"}


def test_photos_and_gifs_never_carry_metrics(sandbox: Sandbox) -> None:
    world = sandbox.world
    stills = [m for m in world.media if m.owner_id == world.demo_user_id and m.type != "video"]
    assert {m.type for m in stills} == {"photo", "animated_gif"}
    post_ids = sorted({pid for m in stills for pid in m.post_ids})
    body = get(
        sandbox,
        "/2/tweets",
        params={
            "ids": ",".join(post_ids),
            "expansions": "attachments.media_keys",
            "media.fields": ALL_MEDIA_FIELDS,
        },
        auth=oauth1(sandbox),
    ).json()
    media = body["includes"]["media"]
    assert len(media) == len(stills)
    for item in media:
        assert not any(key.endswith("_metrics") for key in item)


def test_video_and_gif_previews_point_at_the_sandboxs_own_media_host(sandbox: Sandbox) -> None:
    world = sandbox.world
    owned = [m for m in world.media if m.owner_id == world.demo_user_id]
    moving = [m for m in owned if m.type != "photo"]
    post_ids = sorted({pid for m in owned for pid in m.post_ids})
    assert len(post_ids) <= 100
    body = get(
        sandbox,
        "/2/tweets",
        params={
            "ids": ",".join(post_ids),
            "expansions": "attachments.media_keys",
            "media.fields": ALL_MEDIA_FIELDS,
        },
        headers=bearer(sandbox),
    ).json()
    served = {m["media_key"]: m for m in body["includes"]["media"]}
    previews = {k: m["preview_image_url"] for k, m in served.items() if m["type"] != "photo"}
    assert {m.type for m in moving} == {"video", "animated_gif"} and len(previews) == len(moving)
    for media_key, url in previews.items():
        assert url == f"{sandbox.base_url}/media/preview/{media_key}.svg"
        image = requests.get(url, timeout=TIMEOUT)
        assert image.status_code == 200 and image.text.startswith("<svg")
    photos = [m for m in served.values() if m["type"] == "photo"]
    assert photos and not any("preview_image_url" in m for m in photos)


# -- GET /2/tweets/:id --------------------------------------------------------------------------


def test_single_post_lookup_serves_an_object(sandbox: Sandbox) -> None:
    post = recent_demo_posts(sandbox)[2]
    body = get(
        sandbox,
        f"/2/tweets/{post.id}",
        params={"tweet.fields": ALL_TWEET_FIELDS},
        auth=oauth1(sandbox),
    ).json()
    assert body["data"]["id"] == post.id
    assert body["data"]["non_public_metrics"] == dict(post.non_public_metrics)


def test_missing_single_post_is_200_with_not_found_by_default(sandbox: Sandbox) -> None:
    deleted = sandbox.world.deleted_ids[1]
    response = get(sandbox, f"/2/tweets/{deleted}", headers=bearer(sandbox))
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "value": deleted,
                "detail": f"Could not find tweet with id: [{deleted}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "id",
                "resource_id": deleted,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


def test_missing_single_post_status_and_problem_host_are_settings(
    sandbox_factory: SandboxFactory,
) -> None:
    running = sandbox_factory(
        settings=SandboxSettings(missing_single_post_status=404, problem_host="api.x.com")
    )
    deleted = running.world.deleted_ids[0]
    response = get(running, f"/2/tweets/{deleted}", headers=bearer(running))
    assert response.status_code == 404
    assert response.json()["errors"][0]["type"] == "https://api.x.com/2/problems/resource-not-found"


def test_single_unowned_post_uses_parameter_id_in_field_errors(sandbox: Sandbox) -> None:
    post = other_post(sandbox)
    body = get(
        sandbox,
        f"/2/tweets/{post.id}",
        params={"tweet.fields": "organic_metrics"},
        auth=oauth1(sandbox),
    ).json()
    assert "data" not in body
    assert {e["parameter"] for e in body["errors"]} == {"id"}
    assert body["errors"][0]["detail"] == (
        "Sorry, you are not authorized to access 'organic_metrics.impression_count' on the Tweet "
        f"with id : [{post.id}]."
    )


def test_malformed_single_id_is_an_invalid_request(sandbox: Sandbox) -> None:
    response = get(sandbox, "/2/tweets/abc", headers=bearer(sandbox))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "parameters": {"id": ["abc"]},
            "message": "The `id` query parameter value [abc] is not valid",
        }
    ]


# -- settings that change bodies ----------------------------------------------------------------


def test_zero_link_clicks_are_omitted_or_present_by_setting(
    sandbox_factory: SandboxFactory,
) -> None:
    for omit in (True, False):
        running = sandbox_factory(settings=SandboxSettings(omit_zero_private_keys=omit))
        post = next(
            p
            for p in running.world.demo_posts
            if p.url is None and p.within_private_window(running.clock.now())
        )
        item = get(
            running,
            "/2/tweets",
            params={"ids": post.id, "tweet.fields": "non_public_metrics,organic_metrics"},
            auth=oauth1(running),
        ).json()["data"][0]
        assert ("url_link_clicks" in item["non_public_metrics"]) is not omit
        assert ("url_link_clicks" in item["organic_metrics"]) is not omit


def test_engagements_setting_adds_a_fourth_non_public_field(
    sandbox_factory: SandboxFactory,
) -> None:
    running = sandbox_factory(settings=SandboxSettings(include_engagements=True))
    assert len(private_sub_fields("non_public_metrics", running.settings)) == 4
    post = other_post(running)
    body = get(
        running,
        "/2/tweets",
        params={"ids": post.id, "tweet.fields": "non_public_metrics"},
        auth=oauth1(running),
    ).json()
    assert len(body["errors"]) == 4
    mine = recent_demo_posts(running)[1]
    item = get(
        running,
        "/2/tweets",
        params={"ids": mine.id, "tweet.fields": "non_public_metrics"},
        auth=oauth1(running),
    ).json()["data"][0]
    assert "engagements" in item["non_public_metrics"]


def test_unpromoted_post_asked_for_promoted_metrics_omits_group_or_vanishes(
    sandbox_factory: SandboxFactory,
) -> None:
    for mode in ("omit", "empty"):
        running = sandbox_factory(settings=SandboxSettings(unpromoted_promoted_metrics=mode))
        post = next(p for p in recent_demo_posts(running) if not p.promoted)
        body = get(
            running,
            "/2/tweets",
            params={"ids": post.id, "tweet.fields": "organic_metrics,promoted_metrics"},
            auth=oauth1(running),
        ).json()
        if mode == "omit":
            assert body["data"][0]["organic_metrics"] == dict(post.organic_metrics)
            assert "promoted_metrics" not in body["data"][0]
        else:
            assert body == {}


# -- GET /2/users/me ----------------------------------------------------------------------------


def test_users_me_with_user_context(sandbox: Sandbox) -> None:
    user = sandbox.world.user(sandbox.world.demo_user_id)
    assert user is not None
    body = get(sandbox, "/2/users/me", auth=oauth1(sandbox)).json()
    assert body == {"data": {"id": user.id, "name": user.name, "username": user.username}}
    account = sandbox.accounts[5]
    body = get(sandbox, "/2/users/me", headers=user_bearer(sandbox, account.user_id)).json()
    assert body["data"]["id"] == account.user_id


def test_users_me_with_app_only_token_is_403_unsupported_authentication(sandbox: Sandbox) -> None:
    response = get(sandbox, "/2/users/me", headers=bearer(sandbox))
    assert response.status_code == 403
    assert response.json() == {
        "title": "Unsupported Authentication",
        "detail": (
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."
        ),
        "type": "https://api.twitter.com/2/problems/unsupported-authentication",
        "status": 403,
    }


# -- GET /2/users/:id/tweets --------------------------------------------------------------------


def test_timeline_pages_through_every_demo_post_newest_first(sandbox: Sandbox) -> None:
    world = sandbox.world
    seen: list[str] = []
    params: dict[str, str] = {"max_results": "25", "tweet.fields": "created_at"}
    pages = 0
    previous_tokens = []
    while True:
        body = get(
            sandbox, f"/2/users/{world.demo_user_id}/tweets", params=params, headers=bearer(sandbox)
        ).json()
        pages += 1
        meta = body["meta"]
        assert meta["result_count"] == len(body["data"])
        assert meta["newest_id"] == body["data"][0]["id"]
        assert meta["oldest_id"] == body["data"][-1]["id"]
        previous_tokens.append(meta.get("previous_token"))
        seen.extend(d["id"] for d in body["data"])
        if "next_token" not in meta:
            break
        params["pagination_token"] = meta["next_token"]
    assert seen == [p.id for p in world.demo_posts]
    assert pages == 3
    assert previous_tokens[0] is None and all(previous_tokens[1:])


def test_timeline_default_page_is_10_and_max_results_is_bounded(sandbox: Sandbox) -> None:
    path = f"/2/users/{sandbox.world.demo_user_id}/tweets"
    body = get(sandbox, path, headers=bearer(sandbox)).json()
    assert body["meta"]["result_count"] == 10
    response = get(sandbox, path, params={"max_results": "4"}, headers=bearer(sandbox))
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameters"] == {"max_results": ["4"]}
    response = get(sandbox, path, params={"pagination_token": "zzzz"}, headers=bearer(sandbox))
    assert response.status_code == 400


def test_timeline_time_window_and_exclude_replies(sandbox: Sandbox) -> None:
    world = sandbox.world
    posts = world.demo_posts
    start, end = posts[20].created_at, posts[5].created_at
    body = get(
        sandbox,
        f"/2/users/{world.demo_user_id}/tweets",
        params={
            "max_results": "100",
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_time": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "exclude": "replies",
        },
        headers=bearer(sandbox),
    ).json()
    expected = [p.id for p in posts[5:21] if p.replied_to_id is None]
    assert [d["id"] for d in body["data"]] == expected
    assert len(expected) < 16, "the window should contain a reply that was excluded"


def test_owner_timeline_with_private_metrics_keeps_only_last_30_days(sandbox: Sandbox) -> None:
    world = sandbox.world
    body = get(
        sandbox,
        f"/2/users/{world.demo_user_id}/tweets",
        params={"max_results": "100", "tweet.fields": "organic_metrics"},
        auth=oauth1(sandbox),
    ).json()
    assert [d["id"] for d in body["data"]] == [p.id for p in recent_demo_posts(sandbox)]
    assert "errors" not in body


def test_other_users_timeline_with_private_metrics_gives_field_errors(sandbox: Sandbox) -> None:
    account = sandbox.accounts[2]
    body = get(
        sandbox,
        f"/2/users/{account.user_id}/tweets",
        params={"tweet.fields": "non_public_metrics"},
        auth=oauth1(sandbox),
    ).json()
    assert "data" not in body
    assert body["meta"]["result_count"] == 0
    assert len(body["errors"]) == 3 * len(sandbox.world.posts_by(account.user_id))


def test_timeline_of_unknown_suspended_and_protected_users(sandbox: Sandbox) -> None:
    world = sandbox.world
    unknown = get(sandbox, "/2/users/12345/tweets", headers=bearer(sandbox)).json()
    assert unknown["errors"][0]["title"] == "Not Found Error"
    assert unknown["errors"][0]["detail"] == "Could not find user with id: [12345]."
    suspended = get(
        sandbox, f"/2/users/{world.suspended_user_id}/tweets", headers=bearer(sandbox)
    ).json()
    assert suspended["errors"][0]["title"] == "Forbidden"
    assert suspended["errors"][0]["detail"].startswith("User has been suspended: [")
    protected = get(
        sandbox, f"/2/users/{world.protected_user_id}/tweets", headers=bearer(sandbox)
    ).json()
    assert protected["errors"][0]["title"] == "Authorization Error"


# -- media private groups -----------------------------------------------------------------------


def recent_demo_video(sandbox: Sandbox) -> tuple[Post, Media]:
    world = sandbox.world
    for post in recent_demo_posts(sandbox):
        for key in post.media_keys:
            media = world.media_item(key)
            if media is not None and media.type == "video" and media.promoted_metrics is not None:
                return post, media
    raise AssertionError("the demo account should have a recent promoted video")


def media_of(
    sandbox: Sandbox, post: Post, tweet_fields: str, **kwargs: Any
) -> list[dict[str, object]]:
    body = get(
        sandbox,
        "/2/tweets",
        params={
            "ids": post.id,
            "tweet.fields": tweet_fields,
            "expansions": "attachments.media_keys",
            "media.fields": ALL_MEDIA_FIELDS,
        },
        **kwargs,
    ).json()
    media: list[dict[str, object]] = body.get("includes", {}).get("media", [])
    return media


def test_owner_gets_media_private_groups_with_the_posts_private_groups(sandbox: Sandbox) -> None:
    post, video = recent_demo_video(sandbox)
    [item] = media_of(sandbox, post, "public_metrics,organic_metrics", auth=oauth1(sandbox))
    assert item["public_metrics"] == dict(video.public_metrics or {})
    assert item["non_public_metrics"] == dict(video.non_public_metrics or {})
    assert item["organic_metrics"] == dict(video.organic_metrics or {})
    assert item["promoted_metrics"] == dict(video.promoted_metrics or {})
    assert item["duration_ms"] == video.duration_ms


def test_media_private_groups_need_private_post_groups_and_user_context(sandbox: Sandbox) -> None:
    post, video = recent_demo_video(sandbox)
    [public_only] = media_of(sandbox, post, "public_metrics", auth=oauth1(sandbox))
    assert {k for k in public_only if k.endswith("_metrics")} == {"public_metrics"}
    [app_only] = media_of(sandbox, post, "public_metrics", headers=bearer(sandbox))
    assert {k for k in app_only if k.endswith("_metrics")} == {"public_metrics"}
    assert app_only["public_metrics"] == dict(video.public_metrics or {})


def test_media_of_a_dropped_post_is_not_included(sandbox: Sandbox) -> None:
    old = next(p for p in old_demo_posts(sandbox) if p.media_keys)
    assert media_of(sandbox, old, "organic_metrics", auth=oauth1(sandbox)) == []


def test_timeline_since_and_until_ids_are_exclusive_and_win_over_times(sandbox: Sandbox) -> None:
    world = sandbox.world
    posts = world.demo_posts
    body = get(
        sandbox,
        f"/2/users/{world.demo_user_id}/tweets",
        params={
            "max_results": "100",
            "since_id": posts[12].id,
            "until_id": posts[3].id,
            "start_time": "2010-11-06T00:00:01Z",
            "end_time": posts[40].created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        headers=bearer(sandbox),
    ).json()
    assert [d["id"] for d in body["data"]] == [p.id for p in posts[4:12]]


# -- referenced, edited and long Posts -----------------------------------------------------------


def quoting(sandbox: Sandbox, kind: str) -> Post:
    """A demo Post quoting the demo's own Post, a deleted one, a protected account's or another's."""
    world = sandbox.world

    def kind_of(post: Post) -> str | None:
        if post.quoted_id is None:
            return None
        if post.quoted_id in world.deleted_ids:
            return "deleted"
        target = world.post(post.quoted_id)
        assert target is not None
        if target.author_id == world.demo_user_id:
            return "own"
        return "protected" if target.author_id == world.protected_user_id else "other"

    return next(p for p in world.demo_posts if kind_of(p) == kind)


def test_referenced_posts_are_expanded_into_includes_tweets(sandbox: Sandbox) -> None:
    own = quoting(sandbox, "own")
    quoted = sandbox.world.post(own.quoted_id or "")
    assert quoted is not None
    body = get(
        sandbox,
        "/2/tweets",
        params={
            "ids": own.id,
            "tweet.fields": f"referenced_tweets,author_id,{PRIVATE_TWEET_FIELDS}",
            "expansions": "referenced_tweets.id,referenced_tweets.id.author_id",
        },
        auth=oauth1(sandbox),
    ).json()
    assert body["data"][0]["referenced_tweets"] == [{"type": "quoted", "id": quoted.id}]
    (included,) = body["includes"]["tweets"]
    assert included["id"] == quoted.id and included["author_id"] == quoted.author_id
    for group, values in quoted.metrics.items():  # the owner's private groups, like in data
        if group != "public_metrics":
            assert included[group] == values
    assert [u["id"] for u in body["includes"]["users"]] == [sandbox.world.demo_user_id]
    assert "errors" not in body
    plain = get(sandbox, "/2/tweets", params={"ids": own.id}, headers=bearer(sandbox)).json()
    assert "includes" not in plain, "only with the expansion"


def test_referenced_posts_one_may_not_see_give_includes_errors(sandbox: Sandbox) -> None:
    posts = {kind: quoting(sandbox, kind) for kind in ("deleted", "protected", "other")}
    body = get(
        sandbox,
        "/2/tweets",
        params={
            "ids": ",".join(p.id for p in posts.values()),
            "tweet.fields": "referenced_tweets,organic_metrics",
            "expansions": "referenced_tweets.id",
        },
        auth=oauth1(sandbox),
    ).json()
    assert [d["id"] for d in body["data"]] == [p.id for p in posts.values()]
    assert "includes" not in body, "none of the three referenced Posts is served"
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for kind, post in posts.items():
        by_kind[kind] = [e for e in body["errors"] if e["value"] == post.quoted_id]
        assert all(e["parameter"] == "referenced_tweets.id" for e in by_kind[kind])
    (missing,) = by_kind["deleted"]
    assert missing["title"] == "Not Found Error" and "section" not in missing  # as captured
    (hidden,) = by_kind["protected"]
    assert (hidden["title"], hidden["section"]) == ("Authorization Error", "includes")
    assert [e["field"] for e in by_kind["other"]] == [
        f"organic_metrics.{name}"
        for name in (
            "impression_count",
            "like_count",
            "reply_count",
            "retweet_count",
            "url_link_clicks",
            "user_profile_clicks",
        )
    ]
    assert {e["section"] for e in by_kind["other"]} == {"includes"}
    public = get(
        sandbox,
        "/2/tweets",
        params={"ids": posts["other"].id, "expansions": "referenced_tweets.id"},
        headers=bearer(sandbox),
    ).json()
    assert [t["id"] for t in public["includes"]["tweets"]] == [posts["other"].quoted_id]


def test_replies_expand_to_the_replied_to_post(sandbox: Sandbox) -> None:
    reply = next(
        p
        for p in sandbox.world.demo_posts
        if p.replied_to_id and sandbox.world.post(p.replied_to_id)
    )
    body = get(
        sandbox,
        f"/2/tweets/{reply.id}",
        params={
            "tweet.fields": "referenced_tweets,attachments",
            "expansions": "referenced_tweets.id,referenced_tweets.id.attachments.media_keys",
        },
        headers=bearer(sandbox),
    ).json()
    assert body["data"]["referenced_tweets"] == [{"type": "replied_to", "id": reply.replied_to_id}]
    assert [t["id"] for t in body["includes"]["tweets"]] == [reply.replied_to_id]


def test_long_posts_carry_note_tweet_and_edited_posts_their_history(sandbox: Sandbox) -> None:
    world = sandbox.world
    long = next(p for p in world.demo_posts if p.note_text is not None)
    edited = next(p for p in world.demo_posts if len(p.edit_history_tweet_ids) > 1)
    body = get(
        sandbox,
        "/2/tweets",
        params={"ids": f"{long.id},{edited.id}", "tweet.fields": "note_tweet,edit_controls"},
        headers=bearer(sandbox),
    ).json()
    served = {item["id"]: item for item in body["data"]}
    assert served[long.id]["note_tweet"] == {"text": long.note_text}
    assert len(served[long.id]["text"]) <= 280 < len(long.note_text or "")
    assert "note_tweet" not in served[edited.id]
    assert served[edited.id]["edit_history_tweet_ids"] == list(edited.edit_history_tweet_ids)
    assert served[edited.id]["edit_controls"]["edits_remaining"] == 4
    earlier = edited.edit_history_tweet_ids[0]
    old = get(sandbox, "/2/tweets", params={"ids": earlier}, headers=bearer(sandbox)).json()
    assert old["errors"][0]["title"] == "Not Found Error"  # earlier versions are not modelled
