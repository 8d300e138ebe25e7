"""What a screen reader gets (issue 15): every chart has a summary beside it and its data as
a table one click away, every preview image says what it shows, headings go in order."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from apptest_helpers import connect_oauth1_keys, download_bytes, element_texts, plotly_specs
from streamlit.testing.v1 import AppTest

from xmetrics_core import chart_text, figures
from xmetrics_core import frames as fr
from xmetrics_ui.ui import PAGES
from xmetrics_ui.views import CHART_DATA_LABEL


def _recent_video_posts(sandbox: Any) -> list[str]:
    world, now = sandbox.world, sandbox.clock.now()
    recent = [p for p in world.demo_posts if p.within_private_window(now)]
    with_video = [
        p.id
        for p in recent
        if any((m := world.media_item(k)) is not None and m.type == "video" for k in p.media_keys)
    ]
    others = [p.id for p in recent if p.id not in with_video]
    return [*with_video[:3], *others[:2]]


def _fetched(sandbox: Any) -> AppTest:
    at = connect_oauth1_keys(sandbox)
    at.switch_page("pages/posts.py").run()
    at.text_area(key="xm_posts_text").set_value(" ".join(_recent_video_posts(sandbox)))
    at.button(key="xm_fetch").click().run()
    assert not at.exception
    return at


def _chart_tables(at: AppTest) -> list[pd.DataFrame]:
    """The table inside every "Chart data as a table" expander, in page order."""
    tables = []
    for expander in at.expander:
        if expander.label == CHART_DATA_LABEL:
            assert len(expander.dataframe) == 1
            tables.append(expander.dataframe[0].value)
    return tables


def _csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _same_rows(table: pd.DataFrame, csv: pd.DataFrame) -> None:
    """The table shows exactly the rows and columns of the chart's CSV."""
    assert list(table.columns) == list(csv.columns)
    assert len(table) == len(csv) > 0
    shown = table.astype(object).where(table.notna(), "").astype(str)
    for column in csv.columns:  # numbers as the CSV writes them (1.0 vs 1 aside)
        left = [v.removesuffix(".0") for v in shown[column]]
        right = [v.removesuffix(".0") for v in csv[column]]
        assert left == right, column


def test_what_a_screen_reader_gets_on_posts_and_video(sandbox: Any):
    """One walk (the sandbox's /2/users/me allows 75 sign-ins per 15 minutes to the whole
    AppTest run): Posts, then Video, then every page's headings."""
    at = _fetched(sandbox)
    _posts_charts_have_summaries_and_tables(at)
    at.switch_page("pages/video.py").run()
    assert not at.exception
    _video_charts_name_the_largest_drop_and_show_their_data(at)
    _preview_images_say_which_post_and_how_long(at, sandbox)
    _headings_go_in_order_on_every_page(at)


def _posts_charts_have_summaries_and_tables(at: AppTest) -> None:
    charts = plotly_specs(at)
    assert {"xm_chart_split", "xm_chart_rate"} <= set(charts)  # (and any hourly curves)
    tables = dict(zip(charts, _chart_tables(at), strict=True))  # one table per chart
    for key, table in tables.items():
        _same_rows(table, _csv(download_bytes(at, f"{key}_csv")))
    captions = element_texts(at, "caption")
    split = next(c for c in captions if c.startswith("Impressions over all Posts: "))
    assert "organic" in split and "X's total" in split
    rate = next(c for c in captions if " ranked. Highest: " in c)
    highest = tables["xm_chart_rate"]["engagement_rate_pct"].max()
    assert f"Highest: {highest:.1f} %" in rate


def _video_charts_name_the_largest_drop_and_show_their_data(at: AppTest) -> None:
    charts = plotly_specs(at)
    assert {"xm_chart_retention", "xm_chart_dropoff"} <= set(charts)  # (and watch time)
    tables = dict(zip(charts, _chart_tables(at), strict=True))  # one table per chart
    retention, counts = tables["xm_chart_retention"], tables["xm_chart_dropoff"]
    worst = figures.largest_drop(retention)
    assert worst is not None
    captions = element_texts(at, "caption")
    drop = next(c for c in captions if c.startswith("Largest drop: "))
    assert drop == chart_text.retention_summary(retention)
    assert f"{float(worst[figures.STEP_DROPOFF_PCT]):.1f} % of viewers lost between" in drop
    started = int(counts.loc[counts[fr.QUARTILE].eq(0), fr.VIEWERS].iloc[0])
    assert any(c.startswith("Viewers who started") and f"{started:,}" in c for c in captions)


def _preview_images_say_which_post_and_how_long(at: AppTest, sandbox: Any) -> None:
    images = [img for element in at.get("image") for img in element.proto.imgs]
    assert images
    world = sandbox.world
    for image in images:
        key = image.url.rsplit("/", 1)[-1].removesuffix(".svg")
        media = world.media_item(key)
        assert media is not None, image.url
        carriers = [world.post(p) for p in media.post_ids]
        texts = [" ".join(p.text.split()) for p in carriers if p is not None]
        assert image.alt.startswith("Preview of a "), image.alt
        assert figures.duration_text(media.duration_ms) in image.alt
        assert any(text[:60] in image.alt for text in texts), (image.alt, texts)


def _headings_go_in_order_on_every_page(at: AppTest) -> None:
    """One h1 per page (its title), sections at h2: never a jump from h1 to h3."""
    for page, _ in PAGES:
        at.switch_page(page).run()
        assert len(at.title) == 1, page
        assert not at.subheader, (page, [s.value for s in at.subheader])
        assert [h.value for h in at.sidebar.header] == ["Connection"], page


def _one_chart(summary: str | None) -> None:
    import pandas as pd
    import plotly.graph_objects as go

    from xmetrics_core.models import FetchResult
    from xmetrics_ui.views import chart_with_download

    figure = go.Figure(go.Bar(y=[3, 5], name="Likes")).update_layout(title={"text": "Likes"})
    chart_with_download(
        FetchResult(),
        figure,
        pd.DataFrame({"post": ["a", "b"], "likes": [3, 5]}),
        name="likes",
        label="Download likes (CSV)",
        key="xm_chart_likes",
        summary=summary,
    )


def test_a_page_may_give_its_own_summary_or_get_one_from_the_figure():
    given = AppTest.from_function(_one_chart, args=("Post b has the most likes: 5.",)).run()
    assert element_texts(given, "caption") == ["Post b has the most likes: 5."]
    default = AppTest.from_function(_one_chart, args=(None,)).run()
    assert element_texts(default, "caption") == ["Likes: 1 series (Likes), 2 points."]
    for at in (given, default):
        assert [e.label for e in at.expander] == [CHART_DATA_LABEL]
        assert at.expander[0].dataframe[0].value["likes"].tolist() == [3, 5]
        assert download_bytes(at, "xm_chart_likes_csv").startswith(b"\xef\xbb\xbfpost,likes")
