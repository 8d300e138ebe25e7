"""WCAG 2.1 contrast: relative luminance, contrast ratios, colours seen through opacity.

Pure Python (no streamlit, no plotly): ``tests/test_contrast.py`` checks the theme of
``.streamlit/config.toml`` and the charts' colours with it, and the browser tests compare
what Chromium renders with the same formulas.
"""

from __future__ import annotations

import re
from typing import Final

from xmetrics_core.errors import InputError

TEXT_MINIMUM: Final = 4.5
"""WCAG 2.1 AA, success criterion 1.4.3: normal-size text against its background."""
GRAPHICS_MINIMUM: Final = 3.0
"""WCAG 2.1 AA, success criterion 1.4.11: chart marks and UI components against theirs."""

RGB = tuple[int, int, int]

_HEX: Final = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_RGBA: Final = re.compile(
    r"rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*([0-9.]+)\s*)?\)"
)


def parse_colour(text: str) -> tuple[RGB, float]:
    """``"#0072B2"``, ``"#fff"``, ``"rgb(1, 2, 3)"`` or ``"rgba(1,2,3,0.5)"`` → (rgb, alpha).

    Raises InputError for anything else (named colours are not used here)."""
    stripped = text.strip()
    if (hexed := _HEX.fullmatch(stripped)) is not None:
        digits = hexed.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return (r, g, b), 1.0
    if (rgba := _RGBA.fullmatch(stripped)) is not None:
        r, g, b = (int(rgba.group(i)) for i in (1, 2, 3))
        alpha = float(rgba.group(4)) if rgba.group(4) is not None else 1.0
        if max(r, g, b) > 255 or not 0.0 <= alpha <= 1.0:
            raise InputError(f"not a colour: {text!r}")
        return (r, g, b), alpha
    raise InputError(f"not a colour: {text!r}")


def over(colour: str, background: str, *, opacity: float = 1.0) -> RGB:
    """What the eye sees: ``colour`` (with its own alpha, times ``opacity``) painted on the
    opaque ``background``."""
    (fr, fg, fb), alpha = parse_colour(colour)
    (br, bg, bb), _ = parse_colour(background)
    a = alpha * opacity
    return (
        round(a * fr + (1 - a) * br),
        round(a * fg + (1 - a) * bg),
        round(a * fb + (1 - a) * bb),
    )


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour (0 for black, 1 for white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str | RGB, background: str | RGB) -> float:
    """WCAG 2.1 contrast ratio (1 to 21) of two colours; a translucent foreground is first
    painted on the (opaque) background."""
    back = background if isinstance(background, tuple) else over(background, "#000000")
    if isinstance(foreground, tuple):
        front = foreground
    else:
        front = over(foreground, "#{:02x}{:02x}{:02x}".format(*back))
    lighter, darker = sorted((relative_luminance(front), relative_luminance(back)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
