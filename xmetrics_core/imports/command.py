"""``python -m xmetrics_core import FILES... [--format csv|json] [--no-save]``.

Writes to stdout one row per Post (per-Post exports) and one per day (per-day exports):
``id`` / ``date``, ``created_at``, ``text``, then the catalogue's dotted metric columns
where the API has the same count and ``export.<name>`` otherwise (:func:`tables.output_table`),
as CSV through the formula-safe export (``exports.safe_csv_text``, no BOM on stdout) or as a
JSON array. The rows of every file that was imported are written; a refused file adds none.

stderr: one line per file, what was imported (``xmetrics: imported F: rOpenSci, 17 Posts,
1–31 Dec 2021, legacy per-Post export``, then its notes) or why it was refused
(``xmetrics: refused F: line 7: …``), then what the history store kept.

History store: unless ``--no-save``, every imported per-Post export is saved to the history
store (``XMETRICS_DATABASE_URL``, else the default SQLite file) with source = import, one
snapshot per file dated by the export's end (:func:`.saving.save_imports`); per-day exports
have no Posts to keep. The rows are written first: a store problem is reported on stderr
and never stops them.

Exit status: 0 when every file was imported (and saved, unless ``--no-save``), 1 when any
file was refused, 3 when every file was imported but the history store could not keep them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TextIO

import pandas as pd

from xmetrics_core.exports import safe_csv_text
from xmetrics_core.imports.reader import ImportedExport
from xmetrics_core.imports.saving import save_imports
from xmetrics_core.imports.tables import import_paths, output_table

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_NOT_SAVED = 3


def json_rows(table: pd.DataFrame) -> list[dict[str, object]]:
    """One JSON object per row, the table's columns in order; missing values are null."""
    plain = table.astype(object).where(table.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in plain.to_dict("records")]


def run_import(
    files: Sequence[str], *, output_format: str, save: bool, out: TextIO, err: TextIO
) -> int:
    """Import ``files``, write the rows to ``out`` and one line per file to ``err``."""
    batch = import_paths(files)
    for imported in batch.imported:
        print(f"xmetrics: imported {imported.file}: {imported.summary}", file=err)
        for note in imported.notes:
            print(f"xmetrics:   note: {note}", file=err)
    for refused in batch.refused:
        print(f"xmetrics: refused {refused}", file=err)
    buffer = io.StringIO()
    if batch.imported:
        table = output_table(batch.imported)
        if output_format == "json":
            json.dump(json_rows(table), buffer, ensure_ascii=False, indent=1)
            buffer.write("\n")
        else:
            buffer.write(safe_csv_text(table))
    elif output_format == "json":
        buffer.write("[]\n")
    out.write(buffer.getvalue())
    out.flush()
    saved = True
    if save and any(i.per_post for i in batch.imported):
        saved = _save(batch.imported, err=err)
    if not batch.ok:
        return EXIT_REFUSED
    return EXIT_OK if saved else EXIT_NOT_SAVED


def _save(imports: Sequence[ImportedExport], *, err: TextIO) -> bool:
    """Save to the history store; say what it kept, or why not, on ``err``."""
    from xmetrics_core.store import StoreError, open_store

    try:
        with open_store() as store:
            report = save_imports(store, imports)
    except StoreError as problem:
        print(f"xmetrics: history store: nothing saved: {problem}", file=err)
        return False
    print(f"xmetrics: {report.summary}", file=err)
    return True
