"""The remember-me file: 0600 in a 0700 folder, written atomically, every kind round-trips."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from test_connection import OAUTH1, OAUTH2, SANDBOX, _connection

from xmetrics_core.credentials import BearerCredential, credential_from_json, credential_to_json
from xmetrics_core.errors import ConfigurationError
from xmetrics_core.remembered import RememberedConnections, default_config_dir


def test_config_dir_honours_the_override_variable(tmp_path):
    assert default_config_dir({"XMETRICS_CONFIG_DIR": str(tmp_path)}) == tmp_path
    assert default_config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "xmetrics"


def test_remembered_file_is_created_readable_only_by_the_user(tmp_path):
    store = RememberedConnections(config_dir=tmp_path / "xmetrics")
    store.save(_connection())
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert [p.name for p in store.path.parent.iterdir()] == ["credentials.json"]


def test_a_world_readable_file_is_tightened_on_the_next_save(tmp_path):
    store = RememberedConnections(config_dir=tmp_path)
    store.path.write_text("{}")
    store.path.chmod(0o644)
    store.save(_connection())
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_every_credential_kind_round_trips_through_the_file(tmp_path):
    store = RememberedConnections(config_dir=tmp_path)
    store.save(_connection(OAUTH2, username="alice"))
    store.save(_connection(OAUTH1, username="bob"))
    store.save(_connection(BearerCredential(token="bearer-secret"), username=None))
    loaded = {r.connection.account_label: r.connection for r in store.load()}
    assert set(loaded) == {"@alice (Demo User)", "@bob (Demo User)", "App-only (no user account)"}
    assert loaded["@alice (Demo User)"].credential == OAUTH2
    assert loaded["@bob (Demo User)"].credential == OAUTH1
    assert loaded["@alice (Demo User)"].endpoints == SANDBOX


def test_saving_the_same_account_again_replaces_it_and_forget_removes_it(tmp_path):
    store = RememberedConnections(config_dir=tmp_path)
    store.save(_connection(OAUTH1, username="same"))
    store.save(_connection(OAUTH2, username="same"))
    (only,) = store.load()
    assert only.connection.credential == OAUTH2
    store.forget(only.connection)
    assert store.load() == ()
    assert json.loads(store.path.read_text())["connections"] == []


@pytest.mark.parametrize(
    "content", ["", "not json", "[]", '{"format": 99}', '{"format": 1, "connections": [{"x": 1}]}']
)
def test_an_unreadable_file_counts_as_nothing_remembered(tmp_path, content):
    store = RememberedConnections(config_dir=tmp_path)
    store.path.write_text(content)
    assert store.load() == ()


def test_credential_json_rejects_unknown_kinds():
    with pytest.raises(ConfigurationError, match="unknown credential kind"):
        credential_from_json({"kind": "cookie"})
    with pytest.raises(ConfigurationError, match="missing"):
        credential_from_json({"kind": "bearer"})
    assert credential_from_json(credential_to_json(OAUTH1)) == OAUTH1


def test_a_save_leaves_no_temporary_file_and_the_old_file_whole_on_failure(tmp_path, monkeypatch):
    store = RememberedConnections(config_dir=tmp_path)
    store.save(_connection(OAUTH1, username="kept"))
    before = store.path.read_bytes()

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("xmetrics_core.files.os.fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        store.save(_connection(OAUTH2, username="new"))
    assert store.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.json"]


def test_missing_remember_file_loads_empty_and_forget_does_not_create_it(tmp_path: Path):
    store = RememberedConnections(config_dir=tmp_path / "absent")
    assert store.load() == ()
    store.forget(_connection())
    assert not store.path.exists()
