"""The collector's tests: the history store on SQLite and on real PostgreSQL (the store tests'
own backends: a PostgreSQL test fails, never skips, when the server is unreachable) and the
sandbox over real HTTP with its clock."""

from __future__ import annotations

from tests.store.conftest import backend, store_url

__all__ = ["backend", "store_url"]
