"""axe-core in Chromium: the accessibility audit behind Lighthouse's and Deque's, run on a page.

axe-core comes from the npm registry, pinned in package.json / package-lock.json and installed
into node_modules/ by ``npm ci`` (``make test`` and ``.ci/run`` do it). Without it the tests
that need it fail, saying how to install it: they never skip.

Every violation of impact *critical* or *serious* fails. A *moderate* or *minor* one fails
too unless its rule is listed in :data:`ACCEPTED` with the reason (README, "Accessibility",
lists the same rules): those are rendered by Streamlit itself, out of this app's reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pytest
from browser_helpers import REPO

from xmetrics_core.contrast import TEXT_MINIMUM, contrast_ratio

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_SCRIPT: Final = REPO / "node_modules" / "axe-core" / "axe.min.js"
MISSING_AXE: Final = (
    f"axe-core is not installed at {AXE_SCRIPT.relative_to(REPO)}: run `npm ci` in the "
    "repository (node and npm from Debian; `make test` and .ci/run do it). The accessibility "
    "tests need it and fail without it rather than skip."
)
BLOCKING_IMPACTS: Final = frozenset({"critical", "serious"})
ACCEPTED: Final[dict[str, str]] = {
    "presentation-role-conflict": (
        "minor: one element of a Streamlit widget on the Import page carries "
        'role="presentation" and a global ARIA attribute or focusability; Streamlit renders '
        "that markup (its frontend sets the role), out of this app's reach"
    ),
}
"""Moderate or minor axe rules accepted, by rule id, with the reason (README lists them)."""


@dataclass(frozen=True, kw_only=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    summaries: tuple[str, ...]

    def __str__(self) -> str:
        where = "; ".join(
            f"{target} → {summary}"
            for target, summary in zip(self.targets[:5], self.summaries[:5], strict=False)
        )
        return f"[{self.impact}] {self.rule}: {self.help} ({len(self.targets)} nodes) {where}"


def axe_source() -> str:
    """axe.min.js, or a failing test that says how to install it."""
    if not AXE_SCRIPT.is_file():
        pytest.fail(MISSING_AXE, pytrace=False)
    return AXE_SCRIPT.read_text("utf-8")


_RUN_AXE: Final = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({
        rule: v.id, impact: v.impact || 'minor', help: v.help,
        targets: v.nodes.map(n => n.target.join(' ')),
        summaries: v.nodes.map(n => (n.failureSummary || '').replace(/\\s+/g, ' ')),
    }));
}"""


def run_axe(page: Page) -> list[Violation]:
    """Every axe-core violation on the page as it is now (axe injected if it is not yet)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    found: list[dict[str, Any]] = page.evaluate(_RUN_AXE)
    return [
        Violation(
            rule=str(v["rule"]),
            impact=str(v["impact"]),
            help=str(v["help"]),
            targets=tuple(v["targets"]),
            summaries=tuple(v["summaries"]),
        )
        for v in found
    ]


def failing(violations: list[Violation]) -> list[Violation]:
    """The violations that fail a test: critical and serious ones, and any other whose rule
    is not accepted."""
    return [v for v in violations if v.impact in BLOCKING_IMPACTS or v.rule not in ACCEPTED]


_CHART_TEXTS: Final = """() => {
    const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
    const app = document.querySelector('[data-testid=stApp]') || document.body;
    const background = getComputedStyle(app).backgroundColor;
    const found = [];
    for (const text of document.querySelectorAll('.js-plotly-plot .main-svg text')) {
        if (!text.textContent.trim() || text.closest('.bartext')) continue;  // bars: own test
        const box = text.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        const style = getComputedStyle(text);
        if (style.visibility === 'hidden' || style.display === 'none') continue;
        const [r, g, b, a] = parse(style.fill);
        const opacity = Number(style.fillOpacity) * (a === undefined ? 1 : a);
        found.push({text: text.textContent.trim().slice(0, 60), r, g, b, opacity, background});
    }
    return found;
}"""


def chart_text_contrasts(page: Page) -> list[tuple[str, float]]:
    """(text, contrast ratio against the page) of every text the page's charts draw on their
    (transparent) background: titles, axes, ticks, legends, notes. axe-core does not audit
    SVG text, so the browser tests check it with :mod:`xmetrics_core.contrast`."""
    found: list[dict[str, Any]] = page.evaluate(_CHART_TEXTS)
    ratios = []
    for item in found:
        colour = f"rgba({item['r']},{item['g']},{item['b']},{item['opacity']})"
        ratios.append((str(item["text"]), contrast_ratio(colour, str(item["background"]))))
    return ratios


def low_contrast_chart_texts(page: Page) -> list[tuple[str, float]]:
    return [
        (text, round(ratio, 2))
        for text, ratio in chart_text_contrasts(page)
        if ratio < TEXT_MINIMUM
    ]


__all__ = [
    "ACCEPTED",
    "AXE_SCRIPT",
    "MISSING_AXE",
    "Violation",
    "chart_text_contrasts",
    "failing",
    "low_contrast_chart_texts",
    "run_axe",
]
