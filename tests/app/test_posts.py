"""The Posts page: paste, fetch, statuses, the table, the split chart, downloads, caching."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd
import pytest
from apptest_helpers import (
    api_calls,
    connect_bearer,
    connect_oauth1_keys,
    download_bytes,
    element_texts,
    plotly_specs,
    trace_values,
)
from streamlit.testing.v1 import AppTest

from xmetrics_core import exports, figures, frames
from xmetrics_core.models import PostStatus
from xmetrics_core.references import MAX_REFERENCES, parse_references
from xmetrics_core.sandbox import Fault
from xmetrics_core.sandbox.settings import TWEETS_LOOKUP
from xmetrics_ui.session import demo_sandbox


def _ids(sandbox: Any) -> dict[str, str]:
    """One Post of every kind the page must tell apart, from the sandbox's ground truth."""
    world = sandbox.world
    now = sandbox.clock.now()
    demo = world.demo_posts
    recent = [p for p in demo if p.within_private_window(now)]
    other_user = next(u for u in world.users if u.id != world.demo_user_id and not u.protected)
    return {
        "promoted": next(p.id for p in recent if p.promoted),
        "organic_only": next(p.id for p in recent if not p.promoted),
        "too_old": next(p.id for p in demo if not p.within_private_window(now)),
        "not_mine": world.posts_by(other_user.id)[0].id,
        "deleted": world.deleted_ids[0],
    }


def _paste(sandbox: Any, ids: dict[str, str]) -> str:
    handle = sandbox.world.user(sandbox.world.demo_user_id).username
    return "\n".join(
        [
            ids["promoted"],
            f"https://x.com/{handle}/status/{ids['organic_only']}",
            f"{ids['too_old']}, {ids['not_mine']}",
            ids["deleted"],
            "not-a-post",
            ids["promoted"],  # a duplicate: one status only
        ]
    )


def fetch(at: AppTest, text: str) -> AppTest:
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(text)
    return at.button(key="xm_fetch").click().run()


@pytest.fixture
def fetched(sandbox: Any) -> tuple[AppTest, dict[str, str]]:
    ids = _ids(sandbox)
    at = fetch(connect_oauth1_keys(sandbox), _paste(sandbox, ids))
    assert not at.exception
    return at, ids


def _frame(at: AppTest, first_column: str, needs: str) -> pd.DataFrame:
    for table in at.dataframe:
        value = table.value
        if list(value.columns[:1]) == [first_column] and needs in value.columns:
            return value
    raise AssertionError(f"no table with {needs}")


def test_every_pasted_id_gets_exactly_one_status(
    fetched: tuple[AppTest, dict[str, str]], sandbox: Any
):
    at, ids = fetched
    sidebar = [str(t.value) for t in at.sidebar.text]
    lookups = sandbox.settings.rate_limit_for(TWEETS_LOOKUP, user_context=True)
    assert any(
        line.startswith("GET /2/tweets: ") and f"of {lookups} requests left" in line
        for line in sidebar
    ), sidebar
    # Each endpoint keeps its own line: the sign-in's /2/users/me does not hide the lookups'.
    assert any(line.startswith("GET /2/users/me: ") for line in sidebar), sidebar
    statuses = _frame(at, "id", "status_label")
    first = statuses.loc[statuses["status"].ne(PostStatus.DUPLICATE.value)]
    by_id = dict(zip(first["id"], first["status"], strict=True))
    assert by_id == {
        ids["promoted"]: PostStatus.OK.value,
        ids["organic_only"]: PostStatus.NOT_PROMOTED.value,
        ids["too_old"]: PostStatus.PUBLIC_ONLY_TOO_OLD.value,
        ids["not_mine"]: PostStatus.PUBLIC_ONLY_NOT_OWNER.value,
        ids["deleted"]: PostStatus.NOT_FOUND.value,
        "not-a-post": PostStatus.INVALID.value,
    }
    assert list(statuses["id"])[:2] == [ids["promoted"], ids["organic_only"]], "paste order"


def test_the_metrics_table_holds_the_sandbox_numbers(
    sandbox: Any, fetched: tuple[AppTest, dict[str, str]]
):
    at, ids = fetched
    table = _frame(at, "id", "public_metrics.like_count").set_index("id")
    truth = sandbox.world.post(ids["promoted"])
    assert (
        table.loc[ids["promoted"], "public_metrics.like_count"]
        == truth.public_metrics["like_count"]
    )
    assert (
        table.loc[ids["promoted"], "promoted_metrics.impression_count"]
        == truth.promoted_metrics["impression_count"]
    )
    assert pd.isna(table.loc[ids["not_mine"], "organic_metrics.impression_count"])
    assert pd.isna(table.loc[ids["deleted"], "public_metrics.like_count"])


def test_post_text_is_shown_only_as_plain_text(
    sandbox: Any, fetched: tuple[AppTest, dict[str, str]]
):
    at, ids = fetched
    table = _frame(at, "id", "text").set_index("id")
    assert table.loc[ids["promoted"], "text"] == sandbox.world.post(ids["promoted"]).text
    rendered = " ".join(element_texts(at, "markdown")) + " ".join(
        str(h.proto.body) for h in at.get("html")
    )
    for post_id in (ids["promoted"], ids["organic_only"], ids["too_old"]):
        text = sandbox.world.post(post_id).text.strip()
        assert text[:20] not in rendered


def test_summary_cards_add_up_the_table(fetched: tuple[AppTest, dict[str, str]]):
    at, _ = fetched
    posts = _frame(at, "id", "impressions")
    cards = {m.label: m.value for m in at.metric}
    impressions = int(posts["impressions"].sum())
    engagements = int(posts["engagements"].sum())
    assert cards["Impressions"] == f"{impressions:,}"
    assert cards["Engagements"] == f"{engagements:,}"
    both = posts["impressions"].notna() & posts["engagements"].notna()
    rate = posts.loc[both, "engagements"].sum() / posts.loc[both, "impressions"].sum()
    assert cards["Engagement rate"] == f"{rate:.2%}"
    assert cards["Reposts and quotes"] == f"{int(posts['reposts_and_quotes'].sum()):,}"


def test_the_organic_vs_promoted_chart_draws_the_split(
    sandbox: Any, fetched: tuple[AppTest, dict[str, str]]
):
    at, ids = fetched
    spec = plotly_specs(at)["xm_chart_split"]
    drawn: dict[str, dict[Any, Any]] = {}
    for trace in spec["data"]:  # one facet per metric: a context's traces merge by name
        drawn.setdefault(trace["name"], {}).update(
            zip(trace_values(trace["x"]), trace_values(trace["y"]), strict=True)
        )
    # the Posts that carry a split: the two recent owned ones (the others are public only)
    owned = [sandbox.world.post(ids["promoted"]), sandbox.world.post(ids["organic_only"])]
    assert drawn["Organic"]["Impressions"] == sum(
        p.organic_metrics["impression_count"] for p in owned
    )
    assert drawn["Promoted"]["Impressions"] == owned[0].promoted_metrics["impression_count"]
    assert drawn["Organic"]["Likes"] == sum(p.organic_metrics["like_count"] for p in owned)
    total = "X's total"
    assert drawn[total]["Likes"] == sum(p.public_metrics["like_count"] for p in owned)


def test_the_per_post_split_draws_one_bar_per_post(
    sandbox: Any, fetched: tuple[AppTest, dict[str, str]]
):
    at, ids = fetched
    at.toggle(key="xm_split_per_post").set_value(True).run()
    assert not at.exception
    spec = plotly_specs(at)["xm_chart_split"]
    organic = [t for t in spec["data"] if t["name"] == "Organic"]
    posts = {x for trace in organic for x in trace_values(trace["x"])}
    table = _frame(at, "id", "text").set_index("id")
    labels = figures.post_labels(table.reset_index())
    assert posts == {labels[ids["promoted"]], labels[ids["organic_only"]]}, "named, not IDs"
    for post_id in (ids["promoted"], ids["organic_only"]):
        assert table.loc[post_id, "text"].split()[0] in labels[post_id]


def test_every_download_is_the_exact_csv_of_its_frame(sandbox: Any):
    ids = _ids(sandbox)
    at = fetch(connect_oauth1_keys(sandbox), _paste(sandbox, ids))
    result = _cached_result(at)
    expected = frames.all_frames(result, paste=parse_references(_paste(sandbox, ids)))
    assert download_bytes(at, "xm_dl_statuses") == exports.safe_csv_bytes(expected["statuses"])
    assert download_bytes(at, "xm_dl_posts") == exports.safe_csv_bytes(expected["posts"])
    chart_data = figures.organic_vs_promoted_data(
        frames.split_long_frame(expected["split_all_posts"])
    )
    assert download_bytes(at, "xm_chart_split_csv") == exports.safe_csv_bytes(chart_data)
    labels = figures.post_labels(expected["posts"])
    assert download_bytes(at, "xm_chart_rate_csv") == exports.safe_csv_bytes(
        figures.engagement_rate_data(expected["posts"], post_labels=labels)
    )
    assert at.download_button(key="xm_dl_zip").label == "Download everything (zip)"


def _cached_result(at: AppTest) -> Any:
    """The result the session shows, from the server's cache (a public lookup by its key)."""
    from xmetrics_ui.session import result_cache
    from xmetrics_ui.views import RESULT_KEY

    result = result_cache().get(at.session_state[RESULT_KEY])
    assert result is not None
    return result


def test_reruns_and_page_switches_make_no_api_calls(fetched: tuple[AppTest, dict[str, str]]):
    at, _ = fetched
    sandbox = demo_sandbox()
    at.switch_page("pages/video.py").run()  # its first view asks X for the videos' watch time
    sandbox.request_log.clear()
    at.run()
    at.switch_page("pages/video.py").run()
    at.switch_page("pages/connect.py").run()
    at.switch_page("pages/posts.py").run()
    assert not at.exception
    assert api_calls(sandbox) == []
    assert _frame(at, "id", "status_label").shape[0] == 7  # six IDs, one of them twice


def test_fetching_the_same_posts_again_uses_the_cache_and_refresh_fetches(
    fetched: tuple[AppTest, dict[str, str]],
):
    at, _ = fetched
    sandbox = demo_sandbox()
    sandbox.request_log.clear()
    at.button(key="xm_fetch").click().run()
    assert api_calls(sandbox) == []
    at.button(key="xm_refresh").click().run()
    assert not at.exception
    assert any(call.path == "/2/tweets" for call in api_calls(sandbox))


def test_another_session_with_another_credential_sees_nothing(
    sandbox: Any, fetched: tuple[AppTest, dict[str, str]]
):
    other = connect_bearer(sandbox)
    other.switch_page("pages/posts.py").run()
    assert not other.exception
    assert not any("status_label" in t.value.columns for t in other.dataframe)


def test_empty_and_oversized_pastes_get_messages(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.button(key="xm_fetch").click().run()
    assert any("Paste at least one Post ID" in w for w in element_texts(at, "warning"))
    too_many = " ".join(str(10**15 + i) for i in range(MAX_REFERENCES + 1))
    at.text_area(key="xm_posts_text").set_value(too_many)
    at.button(key="xm_fetch").click().run()
    assert not at.exception
    (message,) = element_texts(at, "error")
    assert f"{MAX_REFERENCES:,}" in message or str(MAX_REFERENCES) in message
    # No lookup: only the sign-in's check and the sidebar's project usage line reach X.
    assert all(c.path in ("/2/users/me", "/2/usage/tweets") for c in api_calls(sandbox))


def test_only_invalid_tokens_show_their_statuses(sandbox: Any):
    at = fetch(connect_oauth1_keys(sandbox), "hello https://example.com/a/status/1")
    assert not at.exception
    statuses = _frame(at, "id", "status_label")
    assert set(statuses["status"]) == {PostStatus.INVALID.value}
    assert len(statuses) == 2


def test_bearer_disables_private_groups_and_says_why(sandbox: Any):
    at = connect_bearer(sandbox)
    at.switch_page("pages/posts.py").run()
    boxes = {c.key: c for c in at.checkbox}
    assert boxes["xm_group_public"].value is True
    for key in ("xm_group_non_public", "xm_group_organic", "xm_group_promoted"):
        assert boxes[key].disabled
        assert "user-context" in boxes[key].help
    assert any("Bearer token reads public metrics only" in c for c in element_texts(at, "caption"))


def test_a_rate_limited_fetch_says_until_when_and_keeps_the_rest(sandbox: Any):
    ids = _ids(sandbox)
    at = connect_oauth1_keys(sandbox)
    sandbox.faults.script(*[Fault(kind="status", status=429, reset_in=600)] * 12)
    at = fetch(at, f"{ids['promoted']} not-a-post")
    assert not at.exception
    (warning,) = element_texts(at, "warning")
    assert "1 ID(s) failed: rate limited" in warning
    assert "UTC" in warning and "Results so far are kept" in warning
    statuses = _frame(at, "id", "status_label")
    assert list(statuses["status"]) == [PostStatus.FAILED.value, PostStatus.INVALID.value]


def test_a_refused_credential_is_dropped_with_a_message_not_a_traceback(
    sandbox: Any, clean_state: Any
):
    from xmetrics_core.remembered import RememberedConnections
    from xmetrics_ui.session import CONNECTION_KEY

    at = connect_oauth1_keys(sandbox)
    at.checkbox(key="xm_remember").check()
    at = connect_oauth1_keys(sandbox, at)
    assert RememberedConnections(config_dir=clean_state).load()
    sandbox.faults.script(*[Fault(kind="status", status=401)] * 4)
    at = fetch(at, _ids(sandbox)["promoted"])
    assert not at.exception
    (message,) = element_texts(at, "error")
    assert "did not accept the credential" in message
    with pytest.raises(KeyError):
        at.session_state[CONNECTION_KEY]
    assert RememberedConnections(config_dir=clean_state).load() == ()
    assert any("Connect an account first" in i for i in element_texts(at, "info"))


def test_recent_posts_can_be_picked(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.button(key="xm_load_recent").click().run()
    picker = at.multiselect(key="xm_recent_pick")
    now = sandbox.clock.now()
    recent = [p.id for p in sandbox.world.demo_posts if p.within_private_window(now)]
    assert len(picker.options) == len(recent)
    assert all(
        option.endswith(f"({post_id})")
        for option, post_id in zip(picker.options, recent, strict=True)
    )
    assert api_calls(sandbox)[-1].path.endswith("/tweets")
    picker.set_value(recent[:2])
    at.button(key="xm_fetch").click().run()
    assert not at.exception
    statuses = _frame(at, "id", "status_label")
    assert list(statuses["id"]) == recent[:2]


def test_an_expiring_oauth2_token_is_refreshed_before_use_and_kept(sandbox: Any, clean_state: Any):
    from dataclasses import replace
    from datetime import UTC, datetime

    from apptest_helpers import connect_demo

    from xmetrics_core.remembered import RememberedConnections
    from xmetrics_ui.session import CLIENT_KEY, CONNECTION_KEY, REMEMBERED_KEY, build_client

    at = connect_demo(sandbox)
    connection = at.session_state[CONNECTION_KEY]
    expiring = replace(connection.credential, expires_at=datetime.now(UTC))
    at.session_state[CONNECTION_KEY] = connection.with_credential(expiring)
    at.session_state[CLIENT_KEY] = build_client(expiring, connection.endpoints)
    at.session_state[REMEMBERED_KEY] = True
    sandbox.request_log.clear()

    at = fetch(at, _ids(sandbox)["promoted"])
    assert not at.exception
    assert [e.path for e in sandbox.request_log.entries()][0] == "/2/oauth2/token"
    refreshed = at.session_state[CONNECTION_KEY]
    assert refreshed.credential.access_token != expiring.access_token
    assert refreshed.credential.expires_at > datetime.now(UTC)
    assert refreshed.fingerprint == connection.fingerprint, "the cache key survives a refresh"
    (remembered,) = RememberedConnections(config_dir=clean_state).load()
    assert remembered.connection.credential == refreshed.credential
    statuses = _frame(at, "id", "status_label")
    assert list(statuses["status"]) == [PostStatus.OK.value]


def test_another_account_never_gets_this_accounts_cached_results(
    sandbox: Any, fetched: tuple[AppTest, dict[str, str]]
):
    _, ids = fetched
    other_account = sandbox.accounts[1]
    other = connect_oauth1_keys(sandbox)
    other.text_input(key="xm_o1_at").set_value(other_account.access_token)
    other.text_input(key="xm_o1_as").set_value(other_account.access_token_secret)
    other.button(key="xm_o1_connect").click().run()
    sandbox.request_log.clear()
    other = fetch(other, _paste(sandbox, ids))
    assert not other.exception
    assert any(call.path == "/2/tweets" for call in api_calls(sandbox)), "not served from cache"
    statuses = _frame(other, "id", "status_label")
    first = statuses.drop_duplicates("id").set_index("id")["status"]
    assert first[ids["promoted"]] == PostStatus.PUBLIC_ONLY_NOT_OWNER.value


def test_the_paste_and_the_group_choice_survive_a_page_switch(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value("123 456")
    at.checkbox(key="xm_group_promoted").uncheck().run()
    at.switch_page("pages/video.py").run()
    at.switch_page("pages/posts.py").run()
    assert not at.exception
    assert at.text_area(key="xm_posts_text").value == "123 456"
    assert at.checkbox(key="xm_group_promoted").value is False
    assert at.checkbox(key="xm_group_organic").value is True
    assert not at.warning, "no 'value set via Session State' warnings"


# -- issue 10: one status per pasted token, every chart in the zip, what each number covers -------


def test_every_pasted_token_gets_a_row_in_paste_order_and_duplicates_are_marked(sandbox: Any):
    ids = _ids(sandbox)
    tokens = [ids["promoted"], "junk", ids["not_mine"], ids["promoted"], ids["promoted"]]
    at = fetch(connect_oauth1_keys(sandbox), " ".join(tokens))
    assert not at.exception
    statuses = _frame(at, "id", "status_label")
    assert list(statuses["id"]) == tokens, "one row per pasted token, in paste order"
    assert list(statuses["status"]) == [
        PostStatus.OK.value,
        PostStatus.INVALID.value,
        PostStatus.PUBLIC_ONLY_NOT_OWNER.value,
        PostStatus.DUPLICATE.value,
        PostStatus.DUPLICATE.value,
    ]
    for detail in statuses["detail"].iloc[3:]:
        assert "same Post as pasted token #1" in detail, detail


def _video_post_ids(sandbox: Any) -> list[str]:
    world = sandbox.world
    now = sandbox.clock.now()
    return [
        p.id
        for p in world.demo_posts
        if p.within_private_window(now)
        and any((m := world.media_item(k)) is not None and m.type == "video" for k in p.media_keys)
    ][:2]


def test_the_zip_holds_the_csv_of_every_chart(sandbox: Any):
    from xmetrics_ui.views import zip_archive

    ids = _ids(sandbox)
    videos = _video_post_ids(sandbox)
    text = " ".join([ids["promoted"], ids["not_mine"], *videos])
    at = fetch(connect_oauth1_keys(sandbox), text)
    assert not at.exception
    zip_button = at.download_button(key="xm_dl_zip")
    assert zip_button.proto.HasField("deferred_file_id"), "built when pressed, not every run"
    result = _cached_result(at)
    expected = frames.all_frames(result, paste=parse_references(text))
    labels = figures.post_labels(expected["posts"])
    archive = zipfile.ZipFile(io.BytesIO(zip_archive(expected, labels)))  # what it builds
    names = set(archive.namelist())
    media_keys = {
        k
        for pid in videos
        for k in sandbox.world.post(pid).media_keys
        if sandbox.world.media_item(k).type == "video"
    }
    assert media_keys
    wanted = {
        "engagement_rate.csv",
        "organic_vs_promoted.csv",
        "organic_vs_promoted_per_post.csv",
        "videos.csv",
        *(f"retention_{key}.csv" for key in media_keys),
        *(f"dropoff_{key}.csv" for key in media_keys),
    }
    assert wanted <= names, f"missing from the zip: {sorted(wanted - names)}"
    assert archive.read("organic_vs_promoted.csv") == download_bytes(at, "xm_chart_split_csv")
    assert archive.read("engagement_rate.csv") == download_bytes(at, "xm_chart_rate_csv")
    assert archive.read("statuses.csv") == download_bytes(at, "xm_dl_statuses")


def test_the_cards_and_the_split_chart_say_which_posts_they_cover(
    fetched: tuple[AppTest, dict[str, str]],
):
    at, _ = fetched  # 4 Posts with metrics; 2 of them (owned, recent) have organic/promoted
    cards = {m.label: m for m in at.metric}
    assert "4 Posts" in str(cards["Impressions"].help), cards["Impressions"].help
    spec = plotly_specs(at)["xm_chart_split"]
    title = spec["layout"]["title"]
    words = f"{title.get('text', '')} {title.get('subtitle', {}).get('text', '')}"
    assert "2 of the 4 Posts" in words, words


def test_the_status_column_comes_second_so_a_phone_shows_it(
    fetched: tuple[AppTest, dict[str, str]],
):
    at, _ = fetched
    statuses = next(t for t in at.dataframe if "status_label" in t.value.columns)
    assert list(statuses.proto.column_order)[:3] == ["id", "status_label", "detail"]
    metrics = next(t for t in at.dataframe if "post_url" in t.value.columns)
    assert list(metrics.proto.column_order)[:3] == ["id", "post_url", "text"]


def test_all_recent_posts_are_picked_with_one_press(sandbox: Any):
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.button(key="xm_load_recent").click().run()
    picker = at.multiselect(key="xm_recent_pick")
    assert picker.value == []
    at.button(key="xm_recent_all").click().run()
    now = sandbox.clock.now()
    recent = [p.id for p in sandbox.world.demo_posts if p.within_private_window(now)]
    assert at.multiselect(key="xm_recent_pick").value == recent
    assert any(f"{len(recent)} Post IDs" in c for c in element_texts(at, "caption"))
    at.button(key="xm_recent_none").click().run()
    assert at.multiselect(key="xm_recent_pick").value == []


def test_results_say_when_they_were_fetched_and_when_the_paste_changed(
    fetched: tuple[AppTest, dict[str, str]],
):
    at, ids = fetched
    assert any(c.startswith("Fetched ") and " UTC · " in c for c in element_texts(at, "caption"))
    assert not element_texts(at, "warning")
    at.text_area(key="xm_posts_text").set_value(ids["promoted"]).run()
    assert any("for an earlier paste" in w for w in element_texts(at, "warning"))
    assert any(c == "1 Post ID" for c in element_texts(at, "caption")), "counted before Fetch"
