"""``python -m xmetrics_core import FILES... [--format csv|json] [--no-save]``.

Writes to stdout one row per Post (per-Post exports) and one per day (per-day exports):
``id`` / ``date``, ``created_at``, ``text``, then the catalogue's dotted metric columns
where the API has the same count and ``export.<name>`` otherwise (:func:`tables.output_table`),
as CSV through the formula-safe export (``exports.safe_csv_text``, no BOM on stdout) or as a
JSON array. The rows of every file that was imported are written; a refused file adds none.

stderr: one line per file, what was imported (``xmetrics: imported F: rOpenSci, 17 Posts,
1–31 Dec 2021, legacy per-Post export``, then its notes) or why it was refused
(``xmetrics: refused F: line 7: …``). Exit status 0 when every file was imported, 1 when any
was refused.

History store: not yet. ``--no-save`` is accepted so scripts can already pass it; imports are
not stored anywhere until the store lands (then they will be saved with source = import
unless ``--no-save``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TextIO

import pandas as pd

from xmetrics_core.exports import safe_csv_text
from xmetrics_core.imports.tables import import_paths, output_table

EXIT_OK = 0
EXIT_REFUSED = 1


def json_rows(table: pd.DataFrame) -> list[dict[str, object]]:
    """One JSON object per row, the table's columns in order; missing values are null."""
    plain = table.astype(object).where(table.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in plain.to_dict("records")]


def run_import(
    files: Sequence[str], *, output_format: str, save: bool, out: TextIO, err: TextIO
) -> int:
    """Import ``files``, write the rows to ``out`` and one line per file to ``err``."""
    del save  # the history store has not landed yet: nothing is stored either way
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
    return EXIT_OK if batch.ok else EXIT_REFUSED
