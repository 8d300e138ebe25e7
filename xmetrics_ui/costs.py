"""The Posts page's cost meter and budget.

Before Fetch the page says how many billable Post reads the Fetch will make and what they
are estimated to cost (``Store.plan_reads``: X bills a Post once per account and UTC day, so
a Post already read today is free), and what this account has read and is estimated to have
spent today and this month (``Store.spend``, every source: dashboard, CLI and collector,
since X bills them all). A monthly budget (a setting on the page, 0 = none) stops a Fetch
whose estimate would take the month past it, and says so. Prices are X's published ones
(``ReadPrices``; ``XMETRICS_PRICE_POST_READ`` … override them) and always labelled as
estimates: X's invoice is the truth.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from xmetrics_core.connection import Connection
from xmetrics_core.references import ParsedReferences
from xmetrics_core.sandbox.remote import SharedSandboxUnavailable
from xmetrics_core.store import PeriodSpend, ReadPlan, Spend, StoreError
from xmetrics_ui.store import (
    dashboard_store,
    is_demo,
    prices,
    problem_text,
    reading_account,
    store_problem,
    world_now,
)
from xmetrics_ui.ui import alert

BUDGET_KEY: Final = "xm_budget_month"
"""Session state: the monthly budget in estimated US dollars (0: none)."""
ESTIMATE_NOTE: Final = (
    "Estimates at X's published pay-per-use prices ($0.005 per Post read, $0.001 for your "
    "own Posts; a Post is billed once per UTC day). X's invoice is the truth."
)


def _usd(amount: float) -> str:
    return f"${amount:,.3f}"


def _reads(count: int) -> str:
    return f"{count:,} read{'s' if count != 1 else ''}"


def plan_text(plan: ReadPlan) -> str:
    """``"Fetch will make 3 billable reads (2 already read today are free): ≈ $0.011
    (estimate)."``"""
    free = (
        f" ({plan.already_read_today:,} already read today, free)"
        if plan.already_read_today
        else ""
    )
    return (
        f"Fetch will make {plan.billable:,} billable Post read"
        f"{'s' if plan.billable != 1 else ''}{free}: ≈ {_usd(plan.estimated_usd)} (estimate)."
    )


def period_text(name: str, period: PeriodSpend) -> str:
    """``"Today (UTC): 12 reads, 5 billable, ≈ $0.025"``."""
    return (
        f"{name}: {_reads(period.reads)}, {period.billable_reads:,} billable, "
        f"≈ {_usd(period.estimated_usd)}"
    )


def spend_text(spend: Spend) -> str:
    return (
        f"{period_text('Today (UTC)', spend.today)} · "
        f"{period_text('this month', spend.month)} (estimates)."
    )


def over_budget(spend: Spend, plan: ReadPlan, budget: float) -> bool:
    """Would this Fetch take the month's estimated spend past ``budget`` (0: no budget)?"""
    return (
        budget > 0
        and plan.billable > 0
        and (spend.month.estimated_usd + plan.estimated_usd > budget + 1e-9)
    )


def budget() -> float:
    value = st.session_state.get(BUDGET_KEY, 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


def _estimate(
    connection: Connection, parsed: ParsedReferences
) -> tuple[ReadPlan, Spend] | StoreError | None:
    store = dashboard_store(demo=is_demo(connection))
    if store is None:
        return store_problem(demo=is_demo(connection))
    account = reading_account(connection)
    try:
        now = world_now(connection)
    except SharedSandboxUnavailable as exc:  # team mode: the Demo's clock is the shared one
        alert("warning", f"The cost meter waits for the Demo's sandbox: {exc}")
        return None
    try:
        plan = store.plan_reads(parsed.ids, account=account, now=now, prices=prices())
        spend = store.spend(now=now, account=account, prices=prices())
    except StoreError as exc:
        return exc
    return plan, spend


def cost_meter(connection: Connection, parsed: ParsedReferences | None) -> None:
    """Under the Posts form: what the Fetch will cost, what was spent, and the budget."""
    estimate = _estimate(connection, parsed or ParsedReferences(refs=(), invalid=()))
    if estimate is None:
        return
    if isinstance(estimate, StoreError):
        alert("warning", problem_text(estimate))
        return
    plan, spend = estimate
    if parsed is not None and parsed.refs:
        st.caption(plan_text(plan))
    st.caption(spend_text(spend), help=ESTIMATE_NOTE)
    st.session_state.setdefault(BUDGET_KEY, 0.0)
    st.number_input(
        "Monthly budget (estimated US dollars; 0 = none)",
        key=BUDGET_KEY,
        min_value=0.0,
        step=1.0,
        format="%.2f",
        help="A Fetch whose estimated cost would take this account's estimated spend this "
        "month (dashboard, CLI and collector together) past the budget is stopped before it "
        f"reads anything. {ESTIMATE_NOTE}",
    )


def fetch_allowed(connection: Connection, parsed: ParsedReferences) -> bool:
    """False (and why, on the page) when a Fetch would overspend the monthly budget."""
    limit = budget()
    if limit <= 0:
        return True
    estimate = _estimate(connection, parsed)
    if not isinstance(estimate, tuple):
        return True  # no store: nothing is counted, so there is no meter to stop on
    plan, spend = estimate
    if not over_budget(spend, plan, limit):
        return True
    alert(
        "error",
        f"Fetch stopped: its {plan.billable:,} billable reads (≈ {_usd(plan.estimated_usd)}) "
        f"would take this month's estimated spend from {_usd(spend.month.estimated_usd)} past "
        f"your budget of {_usd(limit)}. Raise the budget or fetch fewer Posts. Nothing was "
        "read.",
    )
    return False


__all__ = [
    "BUDGET_KEY",
    "budget",
    "cost_meter",
    "fetch_allowed",
    "over_budget",
    "period_text",
    "plan_text",
    "spend_text",
]
