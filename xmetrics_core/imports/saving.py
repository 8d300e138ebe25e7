"""Imported exports into the history store (source = ``import``): :func:`save_imports`.

Each per-Post export is one snapshot of its Posts dated by the export's end
(``snapshot_at``): ``fetch_result_of(imported)`` saved with ``fetched_at=snapshot_at``, so
the same Post in two overlapping exports gets two snapshots, and API snapshots and imports
form one history. Saving the same file again stores nothing (the store's fingerprint).
Per-day exports carry no Post and are not stored (the store keeps Posts). An import is no
API read: it adds nothing to the cost ledger.

The dashboard and the CLI call this and nothing else; a store problem (``StoreError``) is
the caller's to report, after it has shown the import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xmetrics_core.imports.reader import ImportedExport
from xmetrics_core.imports.tables import fetch_result_of
from xmetrics_core.models import FetchResult

if TYPE_CHECKING:
    from xmetrics_core.store import Account, Store


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedExport:
    """What saving one file did."""

    file: str
    stored: bool
    """False when this export had been saved before (nothing new was written) or is a
    per-day export (nothing to keep)."""
    snapshots: int
    per_day: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportSaveReport:
    saved: tuple[SavedExport, ...]

    @property
    def snapshots(self) -> int:
        return sum(s.snapshots for s in self.saved)

    @property
    def summary(self) -> str:
        """``"history store: 17 Post snapshots from 2 files saved (1 already there; 1
        per-day file has no Posts to keep)"``."""
        new = [s for s in self.saved if s.stored]
        again = [s for s in self.saved if not s.stored and not s.per_day]
        days = [s for s in self.saved if s.per_day]
        parts = [
            f"{self.snapshots:,} Post snapshot{'s' if self.snapshots != 1 else ''} from "
            f"{len(new)} file{'s' if len(new) != 1 else ''} saved"
        ]
        extra = []
        if again:
            extra.append(f"{len(again)} already saved before")
        if days:
            extra.append(
                f"{len(days)} per-day file{'s have' if len(days) != 1 else ' has'} no Posts to keep"
            )
        if extra:
            parts.append(f"({'; '.join(extra)})")
        return "history store: " + " ".join(parts)


def _owned_by(result: FetchResult, account: Account) -> FetchResult:
    """The export's Posts are its account's own: they get its user ID as author (so the
    history's per-author frames, e.g. best time, include them)."""
    posts = tuple(
        p if p.author_id else dataclasses.replace(p, author_id=account.user_id)
        for p in result.posts
    )
    return dataclasses.replace(result, posts=posts)


def import_account(imported: ImportedExport, known: Account | None) -> Account | None:
    """``known`` (the connected account) when the export is that account's (same handle,
    any case; or a file that names no account), else None: the store then files the
    import under no X user (as app-only reads are), since an export names its account's
    handle but not its user ID."""
    if known is None:
        return None
    handle = (imported.account or "").casefold()
    if not handle or handle == (known.username or "").casefold():
        return known
    return None


def save_imports(
    store: Store, imports: Sequence[ImportedExport], *, account: Account | None = None
) -> ImportSaveReport:
    """Save every per-Post export of ``imports`` as one snapshot dated ``snapshot_at``
    (source ``import``). ``account``: the X account the exports belong to, when known
    (the Demo's, or the connected account's: see :func:`import_account`). Raises the
    store's ``StoreError``; files saved before the error stay saved (each file is one
    transaction)."""
    saved: list[SavedExport] = []
    for imported in imports:
        if not imported.per_post:
            saved.append(SavedExport(file=imported.file, stored=False, snapshots=0, per_day=True))
            continue
        owner = import_account(imported, account)
        result = fetch_result_of(imported)
        if owner is not None:
            result = _owned_by(result, owner)
        outcome = store.save(
            result, source="import", account=owner, fetched_at=imported.snapshot_at
        )
        saved.append(
            SavedExport(file=imported.file, stored=outcome.stored, snapshots=outcome.snapshots)
        )
    return ImportSaveReport(saved=tuple(saved))
