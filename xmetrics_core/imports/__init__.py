"""Import X's own analytics exports (CSV files X lets every account owner download).

Public API (the CLI, the dashboard's Import page and the history store call these)::

    import_path(path) / import_export(data, name=...) / import_stream(file, name=...)
        -> ImportedExport          # or raise ImportRefused (file + line + reason)
    import_paths(paths) -> ImportBatch(imported=..., refused=...)
    posts_result(imports) -> FetchResult       # merged Posts, the Posts page's frames read it
    posts_table(imports) -> DataFrame          # frames.posts_frame + export.* + snapshot
    post_snapshots(imports) -> DataFrame       # one row per Post per export (history)
    daily_frame(imports) / daily_trend_frame(daily)   # per-day exports, 7-day rolling mean
    output_table(imports) -> DataFrame         # what `python -m xmetrics_core import` writes
    fetch_result_of(imported) -> FetchResult   # one export as a snapshot dated snapshot_at
"""

from __future__ import annotations

from xmetrics_core.imports.decoding import MAX_IMPORT_BYTES
from xmetrics_core.imports.errors import ImportRefused
from xmetrics_core.imports.formats import FIELDS, Column, ExportField, ExportFormat
from xmetrics_core.imports.reader import (
    DateRange,
    ImportedExport,
    RateCheck,
    import_export,
    import_path,
    import_stream,
)
from xmetrics_core.imports.tables import (
    ImportBatch,
    daily_frame,
    daily_trend_frame,
    fetch_result_of,
    import_paths,
    output_table,
    post_snapshots,
    posts_result,
    posts_table,
)
from xmetrics_core.imports.values import NumberStyle

__all__ = [
    "FIELDS",
    "MAX_IMPORT_BYTES",
    "Column",
    "DateRange",
    "ExportField",
    "ExportFormat",
    "ImportBatch",
    "ImportRefused",
    "ImportedExport",
    "NumberStyle",
    "RateCheck",
    "daily_frame",
    "daily_trend_frame",
    "fetch_result_of",
    "import_export",
    "import_path",
    "import_paths",
    "import_stream",
    "output_table",
    "post_snapshots",
    "posts_result",
    "posts_table",
]
