"""The shared Demo sandbox as a replica knows it: from the line the standalone sandbox prints,
and what it tells replicas over HTTP (its clock, seed and settings; the Demo's exports)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.teams.cluster import free_port
from xmetrics_core.errors import ConfigurationError
from xmetrics_core.sandbox import Sandbox
from xmetrics_core.sandbox.remote import RemoteSandbox, SharedSandboxUnavailable


def _line(sandbox: Sandbox) -> dict[str, object]:
    return {**sandbox.demo.as_json(), "tier": sandbox.tier}


def test_the_credentials_line_names_a_sandbox_that_answers(sandbox: Sandbox, tmp_path: Path):
    path = tmp_path / "demo-sandbox.json"
    path.write_text(json.dumps(_line(sandbox)) + "\n", encoding="utf-8")
    remote = RemoteSandbox.from_file(path)
    assert remote.base_url == sandbox.base_url
    assert remote.tier == sandbox.tier
    answer = requests.get(
        f"{remote.base_url}/2/tweets",
        params={"ids": sandbox.world.demo_posts[0].id},
        headers={"Authorization": f"Bearer {remote.demo.bearer_token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text[:200]


def test_a_dashboard_address_the_sandbox_was_not_started_with_is_refused_in_words(
    sandbox: Sandbox,
):
    remote = RemoteSandbox.from_json(_line(sandbox))
    remote.register_redirect_uri(sandbox.demo.redirect_uris[0])
    with pytest.raises(ConfigurationError, match="--redirect-uri http://team.example/"):
        remote.register_redirect_uri("http://team.example/")


def test_a_missing_or_broken_credentials_file_is_said_in_words(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="credentials line"):
        RemoteSandbox.from_file(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"base_url": "http://127.0.0.1:1"}\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="missing or wrong"):
        RemoteSandbox.from_file(broken)


def test_the_shared_sandbox_tells_replicas_its_clock_seed_and_settings(sandbox: Sandbox):
    remote = RemoteSandbox.from_json(_line(sandbox))
    world = remote.world()
    assert world.now == sandbox.clock.now()
    assert (world.seed, world.settings) == (sandbox.seed, sandbox.settings)
    assert world.demo_user_id == sandbox.demo.demo_user_id
    demo_user = sandbox.world.user(sandbox.demo.demo_user_id)
    assert demo_user is not None and world.demo_username == demo_user.username


def test_the_shared_clock_is_read_as_it_moves(fresh_sandbox: Sandbox):
    remote = RemoteSandbox.from_json(_line(fresh_sandbox))
    later = fresh_sandbox.clock.now() + timedelta(days=2, hours=3)
    fresh_sandbox.clock.set(later)
    assert remote.now() == later


def test_the_demo_exports_come_from_the_shared_sandbox_byte_for_byte(sandbox: Sandbox):
    remote = RemoteSandbox.from_json(_line(sandbox))
    assert remote.demo_exports() == sandbox.demo_exports()


def test_the_sandbox_endpoints_need_the_apps_bearer_token(sandbox: Sandbox):
    for path in ("/sandbox/world", "/sandbox/exports"):
        for headers in ({}, {"Authorization": f"Bearer {sandbox.demo.access_token}"}):
            answer = requests.get(f"{sandbox.base_url}{path}", headers=headers, timeout=10)
            assert answer.status_code == 401, (path, headers.keys())


def test_a_silent_shared_sandbox_is_said_in_words(sandbox: Sandbox):
    line = {**_line(sandbox), "base_url": f"http://127.0.0.1:{free_port()}"}
    remote = RemoteSandbox.from_json(line)
    with pytest.raises(SharedSandboxUnavailable, match="did not answer"):
        remote.now()
    with pytest.raises(SharedSandboxUnavailable, match="did not answer"):
        remote.demo_exports()
