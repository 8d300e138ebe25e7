"""Contrast (WCAG 2.1 AA): the theme's colours in ``.streamlit/config.toml`` and the charts'
colours, computed for both the light and the dark theme.

Text and captions need 4.5:1 against the main and the sidebar background; chart marks and UI
components (checkboxes, toggles) 3:1. Streamlit draws captions, help icons and tab labels in
the text colour at 60 % opacity, and a primary button's label in white on the primary colour.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from tests.test_figures import QUARTILE_MEDIA, SPLIT_POSTS, result
from xmetrics_core import figures, frames, history_figures
from xmetrics_core.contrast import (
    GRAPHICS_MINIMUM,
    TEXT_MINIMUM,
    contrast_ratio,
    over,
    parse_colour,
)
from xmetrics_core.errors import InputError

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
CAPTION_OPACITY = 0.6
"""Streamlit's ``fadedText60``: the text colour at 60 % opacity (captions, help, tab labels)."""
PRIMARY_BUTTON_LABEL = "#FFFFFF"
THEMES = ("light", "dark")


def theme(mode: str) -> dict[str, str]:
    config: dict[str, Any] = tomllib.loads(CONFIG.read_text("utf-8"))
    colours: dict[str, str] = config["theme"][mode]
    return colours


def backgrounds(mode: str) -> dict[str, str]:
    colours = theme(mode)
    return {
        "background": colours["backgroundColor"],
        "sidebar": colours["secondaryBackgroundColor"],
    }


# -- the formulas -----------------------------------------------------------------------------


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # just fails
    assert contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)  # just passes
    assert contrast_ratio("#FFFFFF", "#0072B2") == contrast_ratio("#0072B2", "#FFFFFF")


def test_a_translucent_colour_is_seen_through_on_its_background() -> None:
    assert over("rgba(0,0,0,0.5)", "#FFFFFF") == (128, 128, 128)
    assert over("#000000", "#FFFFFF", opacity=0.6) == (102, 102, 102)
    assert contrast_ratio("rgba(0,0,0,0)", "#FFFFFF") == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["red", "#12", "rgb(300,0,0)", "rgba(1,2,3,2)", ""])
def test_anything_but_a_hex_or_rgb_colour_is_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_colour(text)


# -- the theme --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", THEMES)
def test_text_and_captions_reach_4_5_to_1_on_both_backgrounds(mode: str) -> None:
    text = theme(mode)["textColor"]
    for where, background in backgrounds(mode).items():
        assert contrast_ratio(text, background) >= TEXT_MINIMUM, (mode, where)
        caption = over(text, background, opacity=CAPTION_OPACITY)
        ratio = contrast_ratio(caption, background)
        assert ratio >= TEXT_MINIMUM, (mode, where, "caption", round(ratio, 2))


@pytest.mark.parametrize("mode", THEMES)
def test_links_reach_4_5_to_1_on_both_backgrounds(mode: str) -> None:
    link = theme(mode)["linkColor"]
    for where, background in backgrounds(mode).items():
        ratio = contrast_ratio(link, background)
        assert ratio >= TEXT_MINIMUM, (mode, where, round(ratio, 2))


@pytest.mark.parametrize("mode", THEMES)
def test_a_primary_buttons_label_reaches_4_5_to_1_and_the_accent_3_to_1(mode: str) -> None:
    primary = theme(mode)["primaryColor"]
    assert contrast_ratio(PRIMARY_BUTTON_LABEL, primary) >= TEXT_MINIMUM, mode
    for where, background in backgrounds(mode).items():  # ticked boxes, toggles, focus rings
        ratio = contrast_ratio(primary, background)
        assert ratio >= GRAPHICS_MINIMUM, (mode, where, round(ratio, 2))


# -- the charts -------------------------------------------------------------------------------


def _built_figures() -> dict[str, go.Figure]:
    r = result(*SPLIT_POSTS, media=QUARTILE_MEDIA)
    built = frames.all_frames(r)
    return {
        "split_total": figures.organic_vs_promoted_figure(
            frames.split_long_frame(built["split_all_posts"]), per_post=False
        ),
        "split_posts": figures.organic_vs_promoted_figure(
            frames.split_long_frame(built["split_per_post"]), per_post=True
        ),
        "retention": figures.quartile_retention_figure(built["quartiles"]),
        "counts": figures.quartile_counts_figure(built["quartiles"]),
        "rate": figures.engagement_rate_figure(built["posts"]),
    }


def _colours(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _colours(item)


def _mark_colours(fig: go.Figure) -> Iterator[tuple[str, str]]:
    """(where, colour) of every bar, line, point and shape outline the figure draws."""
    for trace in fig.data:
        marker = getattr(trace, "marker", None)
        if marker is not None:
            yield from ((f"{trace.name} marker", c) for c in _colours(marker.color))
        line = getattr(trace, "line", None)
        if line is not None:
            yield from ((f"{trace.name} line", c) for c in _colours(line.color))
    for shape in fig.layout.shapes:
        yield from ((f"shape {shape.name}", c) for c in _colours(shape.line.color))


def test_every_chart_mark_reaches_3_to_1_on_both_themes_backgrounds() -> None:
    checked = 0
    for name, fig in _built_figures().items():
        for where, colour in _mark_colours(fig):
            for mode in THEMES:
                background = theme(mode)["backgroundColor"]
                ratio = contrast_ratio(colour, background)
                assert ratio >= GRAPHICS_MINIMUM, (name, where, colour, mode, round(ratio, 2))
                checked += 1
    assert checked > 20  # every chart was walked, with bars, lines, points and the ring


def test_every_mark_colour_a_chart_may_cycle_through_works_on_both_themes() -> None:
    palette = {
        *figures.MARK_COLOURS,
        *history_figures.POST_COLOURS,
        *figures.CONTEXT_COLOURS.values(),
        *(colour for _, colour in figures.RATE_KINDS.values()),
        figures.HIGHLIGHT_COLOUR,
        figures.OUTLINE_COLOUR,
    }
    for colour in palette:
        for mode in THEMES:  # charts are drawn on the page's background, never the sidebar's
            ratio = contrast_ratio(colour, theme(mode)["backgroundColor"])
            assert ratio >= GRAPHICS_MINIMUM, (colour, mode, round(ratio, 2))


def test_text_written_on_a_bar_reaches_4_5_to_1_on_that_bar() -> None:
    fig = _built_figures()["split_total"]
    labelled = [t for t in fig.data if isinstance(t, go.Bar) and t.texttemplate]
    assert labelled
    for trace in labelled:
        ratio = contrast_ratio(trace.insidetextfont.color, trace.marker.color)
        assert ratio >= TEXT_MINIMUM, (trace.name, round(ratio, 2))


def test_chart_notes_and_titles_take_the_themes_text_colour() -> None:
    """No single colour reaches 4.5:1 on both white and near-black, so every text a chart
    writes on its background is left to the theme (its text colour, checked above)."""
    for name, fig in _built_figures().items():
        for annotation in fig.layout.annotations:
            assert annotation.font.color is None, (name, annotation.text)
        assert fig.layout.title.font.color is None, name
        assert fig.layout.font.color is None, name


def test_the_keyboard_focus_ring_reaches_3_to_1_on_every_background() -> None:
    from xmetrics_ui.ui import ACCESSIBLE_STYLE, FOCUS_RING_COLOUR

    assert f"outline: 2px solid {FOCUS_RING_COLOUR}" in ACCESSIBLE_STYLE
    for mode in THEMES:
        for where, background in backgrounds(mode).items():
            ratio = contrast_ratio(FOCUS_RING_COLOUR, background)
            assert ratio >= GRAPHICS_MINIMUM, (mode, where, round(ratio, 2))
