"""Preview images for the sandbox's videos and GIFs: its twin of X's media host.

X serves ``preview_image_url`` from ``pbs.twimg.com``; the sandbox serves its own at
``{base_url}/media/preview/<media_key>.svg`` so the Demo's Video page can show a preview
without anything leaving the machine. Each image is a small SVG drawn from the media item
alone (its key, type, size and duration): the same item always gives the same bytes. No
script, no external reference (fonts fall back to the viewer's sans-serif), and the
server sends it with a ``default-src 'none'`` content security policy.
"""

from __future__ import annotations

import hashlib
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from xmetrics_core.sandbox.world import Media

SVG_CONTENT_TYPE: Final = "image/svg+xml; charset=utf-8"
#: Sent with every preview: nothing in the image may load or run anything.
SVG_SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=86400",
}
#: Okabe-Ito colours (as in the dashboard's charts): two per image, picked by the key's hash.
_BACKGROUNDS: Final = ("#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#E69F00")
_TYPES_WITH_PREVIEW: Final = frozenset({"video", "animated_gif"})


def has_preview(media: Media) -> bool:
    """Whether X would give this media item a ``preview_image_url`` (videos and GIFs)."""
    return media.type in _TYPES_WITH_PREVIEW


def _duration_label(duration_ms: int | None) -> str:
    if duration_ms is None:
        return ""
    seconds = duration_ms // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def preview_image_svg(media: Media) -> str:
    """The preview image of a video or GIF: a two-colour gradient chosen by the media key,
    a few soft shapes placed by it, a play button, the duration (or "GIF") in a badge and
    the key in the corner. Raises ValueError for a photo (X gives photos no preview)."""
    if not has_preview(media):
        raise ValueError(f"{media.type} media have no preview image")
    digest = hashlib.sha256(media.media_key.encode("utf-8")).digest()
    width, height = max(media.width, 16), max(media.height, 9)
    first = _BACKGROUNDS[digest[0] % len(_BACKGROUNDS)]
    second = _BACKGROUNDS[(digest[0] + 1 + digest[1] % (len(_BACKGROUNDS) - 1)) % len(_BACKGROUNDS)]
    unit = min(width, height)
    shapes = "".join(
        f'<circle cx="{digest[2 + 3 * i] * width // 255}" cy="{digest[3 + 3 * i] * height // 255}" '
        f'r="{unit * (8 + digest[4 + 3 * i] % 20) // 100}" fill="#ffffff" fill-opacity="0.12"/>'
        for i in range(5)
    )
    centre_x, centre_y, radius = width // 2, height // 2, unit // 6
    play = (
        f"M{centre_x - radius * 2 // 5} {centre_y - radius // 2} "
        f"L{centre_x + radius * 3 // 5} {centre_y} "
        f"L{centre_x - radius * 2 // 5} {centre_y + radius // 2} Z"
    )
    badge = "GIF" if media.type == "animated_gif" else _duration_label(media.duration_ms)
    font = unit // 14
    badge_width = font * (len(badge) * 6 + 8) // 10
    label = f"Preview of {'GIF' if media.type == 'animated_gif' else 'video'} {media.media_key}"
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" ',
            f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(label)}>',
            '<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">',
            f'<stop offset="0" stop-color="{first}"/><stop offset="1" stop-color="{second}"/>',
            "</linearGradient></defs>",
            f'<rect width="{width}" height="{height}" fill="url(#bg)"/>',
            shapes,
            f'<circle cx="{centre_x}" cy="{centre_y}" r="{radius}" fill="#000000" ',
            'fill-opacity="0.55"/>',
            f'<path d="{play}" fill="#ffffff"/>',
            (
                f'<rect x="{width - badge_width - font}" y="{height - font * 2 - font // 2}" '
                f'width="{badge_width}" height="{font * 3 // 2}" rx="{font // 4}" '
                'fill="#000000" fill-opacity="0.7"/>'
                f'<text x="{width - font - badge_width // 2}" y="{height - font - font // 4}" '
                f'font-family="sans-serif" font-size="{font}" fill="#ffffff" '
                f'text-anchor="middle">{escape(badge)}</text>'
                if badge
                else ""
            ),
            f'<text x="{font}" y="{font * 2}" font-family="sans-serif" font-size="{font * 3 // 4}" ',
            f'fill="#ffffff" fill-opacity="0.85">{escape(media.media_key)}</text>',
            "</svg>",
        ]
    )
