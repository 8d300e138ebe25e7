"""Preview images: one deterministic, self-contained SVG per video or GIF, none for photos."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from xmetrics_core.sandbox import Media, SandboxSettings
from xmetrics_core.sandbox.previews import has_preview, preview_image_svg
from xmetrics_core.sandbox.world import build_world

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


def _media(kind: str, *, seed: int = 7) -> list[Media]:
    world = build_world(seed=seed, now=NOW, settings=SandboxSettings())
    return [m for m in world.media if m.type == kind]


def test_the_same_media_item_always_gives_the_same_image_and_each_item_its_own() -> None:
    first = {m.media_key: preview_image_svg(m) for m in _media("video")}
    again = {m.media_key: preview_image_svg(m) for m in _media("video")}
    assert first == again
    assert len(set(first.values())) == len(first) > 3


def test_a_video_preview_is_an_svg_of_its_size_naming_its_key_and_duration() -> None:
    video = next(m for m in _media("video") if (m.duration_ms or 0) >= 60_000)
    root = ET.fromstring(preview_image_svg(video))
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == (str(video.width), str(video.height))
    assert root.get("aria-label") == f"Preview of video {video.media_key}"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert video.media_key in texts
    assert video.duration_ms is not None
    seconds = video.duration_ms // 1000
    assert f"{seconds // 60}:{seconds % 60:02d}" in texts


def test_a_gif_preview_says_gif() -> None:
    gif = _media("animated_gif")[0]
    assert has_preview(gif)
    root = ET.fromstring(preview_image_svg(gif))
    assert "GIF" in [t.text for t in root.iter(f"{SVG}text")]
    assert root.get("aria-label") == f"Preview of GIF {gif.media_key}"


def test_a_preview_loads_and_runs_nothing() -> None:
    for media in [*_media("video"), *_media("animated_gif")]:
        text = preview_image_svg(media)
        root = ET.fromstring(text)
        tags = {element.tag.removeprefix(SVG) for element in root.iter()}
        assert tags <= {"svg", "defs", "linearGradient", "stop", "rect", "circle", "path", "text"}
        attributes = {name for element in root.iter() for name in element.attrib}
        assert not {a for a in attributes if a.startswith("on") or "href" in a}
        urls = re.findall(r"[a-z]+://[^\"' ]+", text)
        assert urls == ["http://www.w3.org/2000/svg"]  # the namespace, never a resource


def test_photos_have_no_preview() -> None:
    photo = _media("photo")[0]
    assert not has_preview(photo)
    with pytest.raises(ValueError, match="photo"):
        preview_image_svg(photo)
