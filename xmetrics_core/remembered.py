"""The opt-in "Remember on this computer" file: connections kept across restarts, mode 0600.

``<config dir>/credentials.json`` (``$XMETRICS_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/xmetrics``, else ``~/.config/xmetrics``) holds at most one connection per
account and API base. It is written atomically by :func:`~xmetrics_core.files.write_private_file`
(0600 in a 0700 folder); an unreadable or malformed file counts as empty.

In team mode (several replicas, ``XMETRICS_STATE_URL``) :class:`BrowserRememberedConnections`
keeps them per browser in the shared, encrypted state instead (one file per server would offer
every visitor every remembered account).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xmetrics_core.browser_session import browser_fingerprint
from xmetrics_core.connection import Account, AuthMethod, Connection, Endpoints
from xmetrics_core.credentials import credential_from_json, credential_to_json
from xmetrics_core.errors import ConfigurationError
from xmetrics_core.files import write_private_file
from xmetrics_core.state import StateStore

CONFIG_DIR_ENV = "XMETRICS_CONFIG_DIR"
REMEMBER_FILE_NAME = "credentials.json"
_REMEMBER_FORMAT = 1


def default_config_dir(environ: Mapping[str, str]) -> Path:
    """``$XMETRICS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/xmetrics``, else ``~/.config/xmetrics``."""
    if environ.get(CONFIG_DIR_ENV):
        return Path(environ[CONFIG_DIR_ENV])
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"]) / "xmetrics"
    return Path.home() / ".config" / "xmetrics"


@dataclass(frozen=True, slots=True, kw_only=True)
class RememberedConnection:
    """One entry of the remember-me file, offered as "Reconnect as @user"."""

    connection: Connection

    @property
    def label(self) -> str:
        return self.connection.account_label


class RememberedConnections:
    """The opt-in remember-me file: ``<config dir>/credentials.json``, mode 0600.

    It holds at most one connection per account (and one app-only token). The file is
    written to a temporary file created 0600 and renamed over the old one, so it is never
    readable by others, not even for a moment.
    """

    def __init__(self, *, config_dir: Path) -> None:
        self._dir = config_dir
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._dir / REMEMBER_FILE_NAME

    def load(self) -> tuple[RememberedConnection, ...]:
        """Every remembered connection; an unreadable or malformed file counts as empty."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ()
        if not isinstance(raw, dict) or raw.get("format") != _REMEMBER_FORMAT:
            return ()
        return _remembered_from_json(raw.get("connections", []))

    def save(self, connection: Connection) -> None:
        """Add or replace the entry for this connection's account."""
        with self._lock:
            self._write([*self._others_than(connection), connection])

    def forget(self, connection: Connection) -> None:
        """Remove this connection's account from the file (the file stays, maybe empty)."""
        with self._lock:
            keep = self._others_than(connection)
            if self.path.exists():
                self._write(keep)

    def _others_than(self, connection: Connection) -> list[Connection]:
        """The remembered connections of every other account."""
        key = _remember_key(connection)
        return [r.connection for r in self.load() if _remember_key(r.connection) != key]

    def _write(self, connections: list[Connection]) -> None:
        body = {
            "format": _REMEMBER_FORMAT,
            "connections": [_connection_to_json(c) for c in connections],
        }
        write_private_file(self.path, json.dumps(body, indent=2).encode("utf-8"))


def _remember_key(connection: Connection) -> tuple[str, str]:
    account = connection.account.id if connection.account else ""
    return (connection.endpoints.api_base_url, account or str(connection.credential.kind))


def _connection_to_json(connection: Connection) -> dict[str, Any]:
    account = connection.account
    return {
        "method": connection.method.value,
        "api_base_url": connection.endpoints.api_base_url,
        "web_base_url": connection.endpoints.web_base_url,
        "account": None
        if account is None
        else {"id": account.id, "username": account.username, "name": account.name},
        "credential": credential_to_json(connection.credential),
    }


def _connection_from_json(data: Mapping[str, Any]) -> Connection:
    account = data.get("account")
    return Connection(
        credential=credential_from_json(data["credential"]),
        method=AuthMethod(data.get("method", AuthMethod.REMEMBERED.value)),
        endpoints=Endpoints(
            api_base_url=str(data["api_base_url"]), web_base_url=str(data["web_base_url"])
        ),
        account=None
        if not account
        else Account(
            id=str(account["id"]), username=str(account["username"]), name=str(account["name"])
        ),
        source="this computer",
    )


REMEMBERED_IN_BROWSER_TTL_SECONDS = 30 * 24 * 60 * 60
"""Team mode: a browser's remembered connections last 30 days after they were last saved."""


def _remembered_from_json(entries: Iterable[Any]) -> tuple[RememberedConnection, ...]:
    """The entries that still read as connections (a damaged or outdated one is left out)."""
    found: list[RememberedConnection] = []
    for entry in entries:
        with contextlib.suppress(ConfigurationError, ValueError, KeyError, TypeError):
            found.append(RememberedConnection(connection=_connection_from_json(entry)))
    return tuple(found)


class BrowserRememberedConnections:
    """Team mode's "Remember": the same interface as :class:`RememberedConnections`, kept per
    browser in the team's shared (encrypted) state instead of one file per server.

    A server file would offer every visitor of a team's dashboard every remembered account;
    here only the browser that chose "Remember" gets "Reconnect as …" back, on every replica,
    for :data:`REMEMBERED_IN_BROWSER_TTL_SECONDS` (its cookie is its key, hashed). Without a
    browser id (no cookie) nothing is remembered.
    """

    KEY_PREFIX = "xmetrics:remembered:"

    def __init__(
        self,
        *,
        store: StateStore[bytes],
        browser_id: str | None,
        ttl_seconds: float = REMEMBERED_IN_BROWSER_TTL_SECONDS,
    ) -> None:
        self._store = store
        self._key = (
            None if browser_id is None else self.KEY_PREFIX + browser_fingerprint(browser_id)
        )
        self._ttl = ttl_seconds
        self._lock = threading.Lock()

    def load(self) -> tuple[RememberedConnection, ...]:
        """This browser's remembered connections; unreadable entries count as absent."""
        if self._key is None:
            return ()
        raw = self._store.get(self._key)
        try:
            entries = json.loads(raw.decode("utf-8"))["connections"] if raw else []
        except (ValueError, KeyError, TypeError):
            return ()
        return _remembered_from_json(entries)

    def save(self, connection: Connection) -> None:
        """Add or replace the entry for this connection's account."""
        with self._lock:
            self._write([*self._others_than(connection), connection])

    def forget(self, connection: Connection) -> None:
        """Remove this connection's account."""
        with self._lock:
            self._write(self._others_than(connection))

    def _others_than(self, connection: Connection) -> list[Connection]:
        key = _remember_key(connection)
        return [r.connection for r in self.load() if _remember_key(r.connection) != key]

    def _write(self, connections: list[Connection]) -> None:
        if self._key is None:
            return
        if not connections:
            self._store.delete(self._key)
            return
        body = {"connections": [_connection_to_json(c) for c in connections]}
        self._store.put(self._key, json.dumps(body).encode("utf-8"), self._ttl)
