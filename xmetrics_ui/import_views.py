"""The Import page's pieces: read the dropped files, keep them, show the Posts page's sections.

The files are imported once per set of uploads (Streamlit gives each upload an id) and kept
in the session with their merged Posts (``imports.posts_result``), whose identity keys this
page's memo of frames, figures and CSVs (its own slot, beside the Posts page's). Every
import is saved to the history store (source = import) once, when it is read; a store
problem is shown and never stops the import from being shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import pandas as pd
import streamlit as st

from xmetrics_core import exports, figures
from xmetrics_core import frames as fr
from xmetrics_core import import_figures as ifig
from xmetrics_core.connection import AuthMethod, Connection, zone_name
from xmetrics_core.imports import (
    ImportedExport,
    ImportRefused,
    daily_frame,
    daily_trend_frame,
    import_export,
    import_stream,
    posts_result,
    posts_table,
)
from xmetrics_core.imports.saving import save_imports
from xmetrics_core.labels import escape_markdown
from xmetrics_core.models import FetchResult
from xmetrics_core.sandbox.remote import RemoteSandbox
from xmetrics_core.store import Account, StoreError
from xmetrics_ui import views
from xmetrics_ui.session import current_connection, demo_app, demo_world_now
from xmetrics_ui.store import dashboard_store, show_store_problem
from xmetrics_ui.ui import alert, offer_download

UPLOAD_KEY = "xm_import_files"
IMPORTED_KEY = "xm_imported"
IMPORT_MEMO_KEY = "xm_import_memo"
DEMO_BUTTON_KEY = "xm_import_demo"
LAST_UPLOADS_KEY = "xm_import_last_uploads"
"""The upload ids seen last run: files are read when the drop zone's set changes, so the
Demo's exports stay on show over files still in the drop zone until that set changes."""
SPLIT_PER_POST_KEY = "xm_import_split_per_post"


@dataclass(frozen=True, kw_only=True)
class ImportedFiles:
    """One set of files as imported: what was read, what was refused, and the merged Posts
    (its identity keys the page's memo)."""

    signature: tuple[str, ...]
    imports: tuple[ImportedExport, ...]
    refused: tuple[ImportRefused, ...]
    demo: bool
    result: FetchResult
    saved: str | None = None
    """What the history store kept (or why it kept nothing)."""

    @property
    def per_post(self) -> tuple[ImportedExport, ...]:
        return tuple(i for i in self.imports if i.per_post)

    @property
    def per_day(self) -> tuple[ImportedExport, ...]:
        return tuple(i for i in self.imports if not i.per_post)


def _store_account(connection: Connection | None) -> Account | None:
    if connection is None or connection.account is None:
        return None
    return Account(user_id=connection.account.id, username=connection.account.username)


def _save(imports: Sequence[ImportedExport], *, demo: bool, account: Account | None) -> str | None:
    """Save to the history store (the Demo's for the Demo's files); what it did in words."""
    if not any(i.per_post for i in imports):
        return None
    store = dashboard_store(demo=demo)
    if store is None:
        show_store_problem(demo=demo)  # why nothing is kept; the import is shown all the same
        return None
    try:
        report = save_imports(store, imports, account=account)
    except StoreError as problem:
        return f"The history store could not keep these imports: {problem}"
    return report.summary[0].upper() + report.summary[1:] + "."


def _read(
    signature: tuple[str, ...],
    files: Sequence[tuple[str, Any]],
    *,
    demo: bool,
) -> ImportedFiles:
    """Import every file (each whole or refused whole) and save the imported ones."""
    imported: list[ImportedExport] = []
    refused: list[ImportRefused] = []
    for name, source in files:
        try:
            if isinstance(source, bytes):
                imported.append(import_export(source, name=name))
            else:
                imported.append(import_stream(source, name=name, size=source.size))
        except ImportRefused as problem:
            refused.append(problem)
    connection = current_connection()
    uses_demo = demo or (connection is not None and connection.method is AuthMethod.DEMO)
    if demo:
        account: Account | None = demo_account()
    else:
        account = _store_account(connection)
    saved = _save(imported, demo=uses_demo, account=account)
    return ImportedFiles(
        signature=signature,
        imports=tuple(imported),
        refused=tuple(refused),
        demo=demo,
        result=posts_result(imported),
        saved=saved,
    )


def demo_account() -> Account | None:
    """The account the Demo's exports are filed under: the Demo user of the sandbox the
    Demo signs in to (the team's shared one in team mode)."""
    app = demo_app()
    if isinstance(app, RemoteSandbox):
        world = app.world()
        return Account(user_id=world.demo_user_id, username=world.demo_username)
    user = app.world.user(app.demo.demo_user_id)
    return None if user is None else Account(user_id=user.id, username=user.username)


@st.cache_data(ttl=600, show_spinner=False)
def _demo_files(base_url: str, hour: str) -> dict[str, bytes]:
    del base_url, hour  # the cache key: the sandbox and its world hour
    return demo_app().demo_exports()


def demo_files() -> dict[str, bytes]:
    """The Demo account's exports in all four formats, written by the sandbox the Demo
    signs in to (the team's shared one in team mode) from its world at its clock (file name
    → bytes)."""
    app = demo_app()
    return _demo_files(app.base_url, demo_world_now(app).strftime("%Y-%m-%d %H"))


def uploader_and_demo() -> ImportedFiles | None:
    """The drop zone and the Demo's exports; the files on show (imported once per set)."""
    # Streamlit drops a widget's state on runs that do not draw it, and an uploader cannot be
    # given its files back: coming back from another page, the drop zone is empty but the
    # import on show stays (only emptying the drop zone here clears it).
    returning = UPLOAD_KEY not in st.session_state
    uploaded = st.file_uploader(
        "Drop X's analytics exports here (CSV; several at once, any mix of formats)",
        accept_multiple_files=True,
        key=UPLOAD_KEY,
        help="x.com → Analytics → Content or Overview → Export data, or the files of the "
        "legacy analytics.twitter.com (Tweets → Export data, by Tweet or by day). Nothing "
        "is sent to X: the files are read here.",
    )
    with st.container(horizontal=True, vertical_alignment="center"):
        demo = st.button("Try with the Demo account's exports", key=DEMO_BUTTON_KEY)
        st.caption("No files at hand? The Demo account's exports in all four formats.")
    current = st.session_state.get(IMPORTED_KEY)
    uploads = tuple(f.file_id for f in uploaded or ())
    changed = not returning and uploads != st.session_state.get(LAST_UPLOADS_KEY, ())
    st.session_state[LAST_UPLOADS_KEY] = uploads
    if demo:
        files = demo_files()
        current = _read(("demo", *sorted(files)), list(files.items()), demo=True)
        st.session_state[IMPORTED_KEY] = current
    elif changed and uploads:  # new files dropped (or some removed): read this set
        with st.spinner("Reading the files…"):
            current = _read(uploads, [(f.name, f) for f in uploaded or ()], demo=False)
        st.session_state[IMPORTED_KEY] = current
    elif changed and isinstance(current, ImportedFiles) and not current.demo:
        current = None  # every file was removed from the drop zone
        st.session_state.pop(IMPORTED_KEY, None)
    if isinstance(current, ImportedFiles) and current.demo:
        _demo_downloads()
    return current if isinstance(current, ImportedFiles) else None


def _demo_downloads() -> None:
    with st.expander("The Demo account's export files (download them to try the drop zone)"):
        for n, (name, data) in enumerate(demo_files().items()):
            offer_download(
                f"Download {name}",
                data,
                file_name=name,
                mime="text/csv",
                key=f"xm_import_demo_file_{n}",
            )


def _memo(files: ImportedFiles, name: str, build: Any) -> Any:
    return views.memo(files.result, name, build, slot=IMPORT_MEMO_KEY)


def what_was_found(files: ImportedFiles) -> None:
    """One line per file: what it is, or why it was refused (file and line)."""
    for imported in files.imports:
        alert("success", f"{imported.file}: {imported.summary}")
        for note in imported.notes:
            st.caption(escape_markdown(f"{imported.file}: {note}"))
    others = " The other files are imported." if files.imports else ""
    for refused in files.refused:
        alert("error", f"Not imported: {refused}.{others}")
    if files.saved:
        st.caption(escape_markdown(files.saved))
    if len(files.per_post) > 1:
        st.caption(
            "The same Post in several files is one Post, shown with the counts of the file "
            "that ends last; each file is one snapshot in the history store."
        )


def post_frames(files: ImportedFiles) -> Mapping[str, pd.DataFrame]:
    frames: Mapping[str, pd.DataFrame] = _memo(files, "frames", lambda: fr.all_frames(files.result))
    return frames


def _labels(files: ImportedFiles, frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    tz = views.current_tz()
    labels: dict[str, str] = _memo(
        files, f"labels:{zone_name(tz)}", lambda: figures.post_labels(frames["posts"], tz=tz)
    )
    return labels


def _daily(files: ImportedFiles) -> pd.DataFrame:
    daily: pd.DataFrame = _memo(files, "daily", lambda: daily_frame(files.imports))
    return daily


def _days_table(files: ImportedFiles) -> pd.DataFrame:
    """The per-day table as shown and exported: days as dates (``2025-02-18``)."""

    def build() -> pd.DataFrame:
        daily = _daily(files)
        return daily.assign(date=[d.date() for d in daily["date"]])

    table: pd.DataFrame = _memo(files, "days_table", build)
    return table


def _trend(files: ImportedFiles) -> pd.DataFrame:
    trend: pd.DataFrame = _memo(files, "trend", lambda: daily_trend_frame(_daily(files)))
    return trend


def _daily_split(files: ImportedFiles) -> pd.DataFrame:
    split: pd.DataFrame = _memo(files, "daily_split", lambda: ifig.daily_split_data(files.imports))
    return split


def _posts(count: int) -> str:
    return f"{count:,} Post{'s' if count != 1 else ''}"


def post_cards(files: ImportedFiles, frames: Mapping[str, pd.DataFrame]) -> None:
    """Posts, impressions, engagements and the engagement rate over the imported Posts."""
    posts = frames["posts"]
    totals = fr.summary_totals(posts)
    cards = st.columns(4)
    cards[0].metric("Posts", f"{len(posts):,}", help="Imported Posts (each once).")
    cards[1].metric(
        "Impressions",
        "—" if totals.impressions is None else f"{totals.impressions:,}",
        help="Sum over the imported Posts (legacy exports: organic + promoted).",
    )
    cards[2].metric(
        "Engagements",
        "—" if totals.engagements is None else f"{totals.engagements:,}",
        help="X's own engagements count from the files (clicks included).",
    )
    cards[3].metric(
        "Engagement rate",
        "—" if totals.engagement_rate is None else f"{totals.engagement_rate:.2%}",
        help="Engagements ÷ impressions, recomputed (the file's own rate is checked against it).",
    )


def metrics_table(files: ImportedFiles) -> None:
    st.header("Metrics")
    st.caption(
        "One row per Post: the API's names where X's API has the same count, "
        "export.<column> for the rest; snapshot_at is when the counts were true (the end "
        "of the file's range)."
    )
    table: pd.DataFrame = _memo(files, "posts_table", lambda: posts_table(files.imports))
    views.table_with_download(
        files.result,
        table,
        name="imported_posts",
        label="Download metrics (CSV)",
        key="xm_import_dl_posts",
        first=(fr.ID, fr.TEXT, fr.CREATED_AT, fr.IMPRESSIONS, fr.ENGAGEMENTS, fr.ENGAGEMENT_RATE),
        slot=IMPORT_MEMO_KEY,
    )


def split_section(files: ImportedFiles, frames: Mapping[str, pd.DataFrame]) -> None:
    """Organic vs promoted: legacy per-Post exports hold both sides of each Post."""
    if frames["split_all_posts"].empty:
        return
    st.header("Organic vs promoted")
    coverage = figures.split_coverage(frames["posts"], frames["split_per_post"])
    st.caption(
        "Legacy exports: the unprefixed columns are organic, the 'promoted …' ones "
        "promoted, X's total = both. A Post never promoted has no promoted bar. Covers the "
        f"{_posts(coverage.split_posts)} of legacy per-Post exports, of "
        f"{_posts(coverage.posts_with_metrics)} imported (the current exports have no sides)."
    )
    per_post = st.toggle("One bar per Post", key=SPLIT_PER_POST_KEY)
    name = "split_per_post" if per_post else "split_all_posts"
    labels = _labels(files, frames) if per_post else None
    zone = zone_name(views.current_tz())
    split_long = _memo(files, f"long:{name}", lambda: fr.split_long_frame(frames[name]))
    views.chart_with_download(
        files.result,
        _memo(
            files,
            f"fig:{name}:{zone}",
            lambda: figures.organic_vs_promoted_figure(
                split_long, per_post=per_post, post_labels=labels
            ),
        ),
        _memo(
            files,
            f"data:{name}:{zone}",
            lambda: figures.organic_vs_promoted_data(split_long, post_labels=labels),
        ),
        name=f"organic_vs_promoted{'_per_post' if per_post else ''}",
        label="Download chart data (CSV)",
        key="xm_import_chart_split",
        slot=IMPORT_MEMO_KEY,
    )


def rate_section(files: ImportedFiles, frames: Mapping[str, pd.DataFrame]) -> None:
    st.header("Engagement rate")
    posts = frames["posts"]
    drawn: pd.DataFrame = _memo(files, "rated", lambda: figures.highest_rated_posts(posts))
    rated = int(posts[fr.ENGAGEMENT_RATE].notna().sum())
    note = (
        f"The {figures.RATE_CHART_MAX_POSTS} highest rates of {rated} Posts with a rate. "
        if rated > figures.RATE_CHART_MAX_POSTS
        else ""
    )
    st.caption(f"{note}Engagements ÷ impressions per Post, X's own counts from the files.")
    labels = _labels(files, frames)
    zone = zone_name(views.current_tz())
    views.chart_with_download(
        files.result,
        _memo(
            files,
            f"fig:rate:{zone}",
            lambda: figures.engagement_rate_figure(drawn, post_labels=labels),
        ),
        _memo(
            files,
            f"data:rate:{zone}",
            lambda: figures.engagement_rate_data(drawn, post_labels=labels),
        ),
        name="engagement_rate",
        label="Download chart data (CSV)",
        key="xm_import_chart_rate",
        slot=IMPORT_MEMO_KEY,
    )


def best_time_section(files: ImportedFiles, frames: Mapping[str, pd.DataFrame]) -> None:
    st.header("Best time to post")
    tz = views.current_tz()
    zone = zone_name(tz)
    dated_only = [i.file for i in files.per_post if i.table.columns.isin(["export.date"]).any()]
    st.caption(
        f"Weekday and hour each Post went out, in {zone} (the time zone in the sidebar)."
        + (
            " Files with a date but no time of day (the content export) take the time from "
            "the Post ID, which holds the moment X created the Post."
            if dated_only
            else ""
        )
    )
    cells: pd.DataFrame = _memo(
        files, f"best_time:{zone}", lambda: ifig.best_time_frame(frames["posts"], tz=tz)
    )
    views.chart_with_download(
        files.result,
        _memo(files, f"fig:best:{zone}", lambda: ifig.best_time_figure(cells, zone_label=zone)),
        _memo(files, f"data:best:{zone}", lambda: ifig.best_time_data(cells)),
        name="best_time",
        label="Download chart data (CSV)",
        key="xm_import_chart_best_time",
        slot=IMPORT_MEMO_KEY,
    )


def _sum(daily: pd.DataFrame, key: str) -> int | None:
    if key not in daily or daily[key].isna().all():
        return None
    return int(daily[key].sum())


def day_cards(files: ImportedFiles) -> None:
    daily = _daily(files)
    cards = st.columns(4)
    for card, (key, label) in zip(
        cards,
        (
            ("impressions", "Impressions"),
            ("engagements", "Engagements"),
            ("new_follows", "New follows"),
            ("unfollows", "Unfollows"),
        ),
        strict=True,
    ):
        total = _sum(daily, key)
        card.metric(
            label,
            "—" if total is None else f"{total:,}",
            help=f"Sum over the {len(daily):,} days of the per-day files ('—': no file has it).",
        )


def days_section(files: ImportedFiles) -> None:
    """The per-day exports: cards, the days table, the trend with its 7-day mean."""
    st.header("Per day")
    day_cards(files)
    views.table_with_download(
        files.result,
        _days_table(files),
        name="imported_days",
        label="Download days (CSV)",
        key="xm_import_dl_days",
        first=("date",),
        slot=IMPORT_MEMO_KEY,
    )
    split = _daily_split(files)
    if not split.empty:
        views.chart_with_download(
            files.result,
            _memo(files, "fig:daily_split", lambda: ifig.daily_split_figure(split)),
            split,
            name="daily_organic_vs_promoted",
            label="Download chart data (CSV)",
            key="xm_import_chart_daily_split",
            slot=IMPORT_MEMO_KEY,
        )
    trend = _trend(files)
    views.chart_with_download(
        files.result,
        _memo(files, "fig:trend", lambda: ifig.daily_trend_figure(trend)),
        _memo(files, "data:trend", lambda: ifig.daily_trend_data(trend)),
        name="daily_trend",
        label="Download chart data (CSV)",
        key="xm_import_chart_trend",
        slot=IMPORT_MEMO_KEY,
    )


def zip_archive(
    tables: Mapping[str, pd.DataFrame],
    frames: Mapping[str, pd.DataFrame],
    *,
    trend: pd.DataFrame,
    daily_split: pd.DataFrame,
    post_labels: Mapping[str, str],
    tz: tzinfo,
) -> bytes:
    """Every table and every chart's data, one CSV each (pure: no session state, so it can
    run when the button is pressed, outside the script run)."""
    charts = ifig.import_chart_exports(
        frames, trend=trend, daily_split=daily_split, post_labels=post_labels, tz=tz
    )
    return exports.zip_bytes({**tables, **charts})


def zip_section(files: ImportedFiles) -> None:
    """The zip, built when the button is pressed from what this run already holds."""
    frames = post_frames(files)
    tables: dict[str, pd.DataFrame] = {}
    if files.per_post:
        tables["imported_posts"] = _memo(files, "posts_table", lambda: posts_table(files.imports))
        tables.update({k: v for k, v in frames.items() if k != "statuses"})
    if files.per_day:
        tables["imported_days"] = _days_table(files)
    trend, labels, tz = _trend(files), _labels(files, frames), views.current_tz()
    split = _daily_split(files)
    st.download_button(
        "Download everything (zip)",
        data=lambda: zip_archive(
            tables, frames, trend=trend, daily_split=split, post_labels=labels, tz=tz
        ),
        file_name="xmetrics-import.zip",
        mime="application/zip",
        key="xm_import_dl_zip",
        on_click="ignore",
        help="Every table and the data of every chart on this page, one CSV each.",
    )
