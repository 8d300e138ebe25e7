"""The history store's errors: one base class, so a caller (the dashboard) can catch
:class:`StoreError` and go on without history, and one subclass per cause a person can act on.

::

    StoreError
    ├── StoreUnavailable   the database cannot be reached or opened (PostgreSQL down, bad path)
    ├── StoreLocked        another process holds the lock longer than the busy timeout
    ├── StoreReadOnly      the file, its folder or the database user may not be written
    ├── StoreCorrupt       the file is not an SQLite database, or its pages are damaged
    └── StoreTooNew        a newer xmetrics migrated it to a schema this version does not know

Messages say what happened and what to do, and never contain a password: a database URL is
shown only through :func:`safe_url` (the password masked).
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the history store raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened."""


class StoreLocked(StoreError):
    """Another writer held the database longer than the busy timeout."""


class StoreReadOnly(StoreError):
    """The database may be read but not written."""


class StoreCorrupt(StoreError):
    """The database file is damaged or is not a database at all."""


class StoreTooNew(StoreError):
    """The schema was written by a newer xmetrics; this version refuses to touch it."""

    def __init__(self, message: str, *, found: str, known_head: str) -> None:
        super().__init__(message)
        self.found = found
        self.known_head = known_head


__all__ = [
    "StoreCorrupt",
    "StoreError",
    "StoreLocked",
    "StoreReadOnly",
    "StoreTooNew",
    "StoreUnavailable",
]
