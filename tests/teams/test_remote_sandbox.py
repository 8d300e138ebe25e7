"""The shared Demo sandbox as a replica knows it: from the line the standalone sandbox prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from xmetrics_core.errors import ConfigurationError
from xmetrics_core.sandbox import Sandbox
from xmetrics_core.sandbox.remote import RemoteSandbox


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
