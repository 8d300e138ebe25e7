"""The request log: counts by path and method, auth kinds, and no secrets ever stored."""

from __future__ import annotations

import os
import time

import pytest
import requests

from tests.sandbox.helpers import TIMEOUT, bearer, get, oauth1, user_bearer
from xmetrics_core.sandbox import Fault, Sandbox
from xmetrics_core.sandbox.requestlog import REDACTED, redact


def test_every_request_is_logged_with_its_auth_kind(fresh_sandbox: Sandbox) -> None:
    post = fresh_sandbox.world.demo_posts[1]
    get(fresh_sandbox, "/2/tweets", params={"ids": post.id}, headers=bearer(fresh_sandbox))
    get(fresh_sandbox, "/2/tweets", params={"ids": post.id}, auth=oauth1(fresh_sandbox))
    get(fresh_sandbox, "/2/users/me", headers=user_bearer(fresh_sandbox))
    get(fresh_sandbox, "/2/users/me", headers={"Authorization": "Bearer nope"})
    get(fresh_sandbox, "/2/users/me")
    log = fresh_sandbox.request_log
    assert log.count(path="/2/tweets") == 2
    assert log.count(path="/2/users/me", method="get") == 3
    assert [e.auth for e in log.entries()] == ["bearer", "oauth1", "oauth2_user", "invalid", "none"]
    assert log.entries()[1].user_id == fresh_sandbox.world.demo_user_id
    assert log.entries()[0].params == {"ids": post.id}
    assert [e.status for e in log.entries()] == [200, 200, 200, 401, 401]
    log.clear()
    assert log.count() == 0


def test_secrets_are_redacted_from_the_log(fresh_sandbox: Sandbox) -> None:
    token = fresh_sandbox.issue_oauth2_token(fresh_sandbox.world.demo_user_id)
    requests.post(
        fresh_sandbox.base_url + "/2/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": fresh_sandbox.demo.client_id,
        },
        timeout=TIMEOUT,
    )
    requests.post(
        fresh_sandbox.base_url + "/2/oauth2/revoke",
        data={"token": token["access_token"], "client_id": fresh_sandbox.demo.client_id},
        timeout=TIMEOUT,
    )
    get(fresh_sandbox, "/oauth/authorize", params={"oauth_token": "requesttokenvalue"})
    logged = repr(fresh_sandbox.request_log.entries())
    for secret in (str(token["refresh_token"]), str(token["access_token"]), "requesttokenvalue"):
        assert secret not in logged
    entries = fresh_sandbox.request_log.entries(path="/2/oauth2/token")
    assert entries[0].params["refresh_token"] == REDACTED
    assert entries[0].params["grant_type"] == "refresh_token"


def test_redact_covers_every_secret_parameter() -> None:
    params = {
        "code": "a",
        "code_verifier": "b",
        "refresh_token": "c",
        "token": "d",
        "oauth_token": "e",
        "oauth_verifier": "f",
        "client_secret": "g",
        "state": "kept",
    }
    assert redact(params) == {**{k: REDACTED for k in params if k != "state"}, "state": "kept"}


@pytest.mark.skipif(os.cpu_count() == 1, reason="needs real threads to interleave")
def test_log_is_consistent_under_concurrent_requests(fresh_sandbox: Sandbox) -> None:
    from concurrent.futures import ThreadPoolExecutor

    post = fresh_sandbox.world.demo_posts[1]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda _: get(
                    fresh_sandbox,
                    "/2/tweets",
                    params={"ids": post.id},
                    headers=bearer(fresh_sandbox),
                ),
                range(40),
            )
        )
    assert fresh_sandbox.request_log.count(path="/2/tweets") == 40


def test_requests_in_flight_when_cleared_are_not_logged_afterwards(fresh_sandbox: Sandbox) -> None:
    log = fresh_sandbox.request_log
    fresh_sandbox.faults.script(Fault(kind="slow", seconds=0.6))
    post = fresh_sandbox.world.demo_posts[1]
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            fresh_sandbox.base_url + "/2/tweets",
            params={"ids": post.id},
            headers=bearer(fresh_sandbox),
            timeout=0.2,
        )
    assert log.wait_until(lambda log: log.in_flight == 1, timeout=5), "the slow request arrived"
    log.clear()
    get(fresh_sandbox, "/2/users/me", auth=oauth1(fresh_sandbox))
    # wait for the slow request to complete on the server (however long that takes), not a guess
    assert log.wait_until(lambda log: log.in_flight == 0, timeout=10)
    assert [e.path for e in log.entries()] == ["/2/users/me"]


def test_wait_until_reports_a_condition_that_never_comes(fresh_sandbox: Sandbox) -> None:
    log = fresh_sandbox.request_log
    started = time.monotonic()
    assert not log.wait_until(lambda log: log.count() > 0, timeout=0.05)
    assert time.monotonic() - started >= 0.05
    get(fresh_sandbox, "/2/users/me", auth=oauth1(fresh_sandbox))
    assert log.wait_until(lambda log: log.count() == 1 and log.in_flight == 0, timeout=5)
