"""The server's lifecycle and routing: start, stop, context manager, unknown paths, helpers."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.sandbox.helpers import TIMEOUT, bearer, get
from xmetrics_core.sandbox import FaultConfig, Sandbox, SandboxSettings, start_sandbox
from xmetrics_core.sandbox.previews import preview_image_svg
from xmetrics_core.sandbox.world import preview_image_path


def test_context_manager_serves_on_loopback_and_releases_the_port() -> None:
    with start_sandbox() as running:
        assert running.base_url.startswith("http://127.0.0.1:")
        assert (
            get(running, "/2/tweets", params={"ids": "20"}, headers=bearer(running)).status_code
            == 200
        )
        port = running.port
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/2/users/me", timeout=1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again
    running.stop()  # stopping twice is harmless


def test_fixed_now_anchors_the_world_and_starts_the_clock() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with start_sandbox(now=now, seed=3) as running:
        assert running.world.now == now == running.clock.now()  # held still by default
        assert running.world.anchor == datetime(2026, 3, 1, tzinfo=UTC)
        newest = running.world.demo_posts[0]
        assert timedelta(0) <= now - newest.created_at < timedelta(hours=5)
    with start_sandbox(now=now, seed=3, speed=3600) as running:
        assert running.clock.speed == 3600
        assert running.world.anchor == datetime(2026, 3, 1, tzinfo=UTC)


def test_unknown_paths_are_404_and_wrong_methods_405(sandbox: Sandbox) -> None:
    assert get(sandbox, "/2/nothing", headers=bearer(sandbox)).status_code == 404
    assert get(sandbox, "/elsewhere").status_code == 404
    response = requests.post(
        sandbox.base_url + "/2/tweets", headers=bearer(sandbox), timeout=TIMEOUT
    )
    assert response.status_code == 405
    assert response.json()["type"] == "about:blank"


def test_issue_oauth2_token_refuses_unknown_users(sandbox: Sandbox) -> None:
    with pytest.raises(KeyError):
        sandbox.issue_oauth2_token("1")
    token = sandbox.issue_oauth2_token(
        sandbox.accounts[2].user_id, scopes=("tweet.read", "users.read")
    )
    assert "refresh_token" not in token
    assert token["scope"] == "tweet.read users.read"


def test_threads_serve_concurrent_slow_requests(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.configure(FaultConfig(latency_ms=300))
    post = fresh_sandbox.world.demo_posts[1].id
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(
                lambda _: (
                    get(
                        fresh_sandbox,
                        "/2/tweets",
                        params={"ids": post},
                        headers=bearer(fresh_sandbox),
                    ).status_code
                ),
                range(4),
            )
        )
    assert statuses == [200] * 4
    assert time.monotonic() - started < 1.0, "four 300 ms requests should overlap"


# -- persistent connections ------------------------------------------------------------------


def test_sequential_requests_on_one_session_reuse_one_connection(fresh_sandbox: Sandbox) -> None:
    post = fresh_sandbox.world.demo_posts[1].id
    with requests.Session() as session:
        answers = [
            session.get(
                fresh_sandbox.base_url + "/2/tweets",
                params={"ids": post},
                headers=bearer(fresh_sandbox),
                timeout=TIMEOUT,
            ),
            # a form body in between must be read up to its end, not into the next request
            session.post(
                fresh_sandbox.base_url + "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(fresh_sandbox.demo.consumer_key, fresh_sandbox.demo.consumer_secret),
                timeout=TIMEOUT,
            ),
            session.get(fresh_sandbox.base_url + "/2/nothing", timeout=TIMEOUT),
            session.get(
                fresh_sandbox.base_url + f"/2/tweets/{post}",
                headers=bearer(fresh_sandbox),
                timeout=TIMEOUT,
            ),
        ]
        assert [a.status_code for a in answers] == [200, 200, 404, 200]
        for answer in answers:
            assert answer.headers["Content-Length"] == str(len(answer.content))
            assert answer.headers.get("Connection", "").lower() != "close"
    logged = [(e.status, e.connection) for e in fresh_sandbox.request_log.entries()]
    assert logged == [(200, 1), (200, 1), (404, 1), (200, 1)]


def test_a_client_asking_to_close_gets_its_connection_closed(fresh_sandbox: Sandbox) -> None:
    with requests.Session() as session:
        for _ in range(2):
            answer = session.get(
                fresh_sandbox.base_url + "/2/nothing",
                headers={"Connection": "close"},
                timeout=TIMEOUT,
            )
            assert answer.status_code == 404
            assert answer.headers["Connection"] == "close"
    assert [e.connection for e in fresh_sandbox.request_log.entries()] == [1, 2]


def test_a_body_that_never_finishes_arriving_ends_its_connection(fresh_sandbox: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", fresh_sandbox.port), timeout=TIMEOUT) as client:
        client.sendall(
            b"POST /2/nothing HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 10\r\n\r\nhalf."
        )
        answer = b""
        while chunk := client.recv(65536):  # the answer, then the server's close
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404")
    assert [e.status for e in fresh_sandbox.request_log.entries()] == [404]


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    settings = SandboxSettings(keep_alive_idle_seconds=0.3)
    with (
        start_sandbox(settings=settings) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=TIMEOUT) as client,
    ):
        client.sendall(b"GET /2/nothing HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += client.recv(65536)
        assert answer.startswith(b"HTTP/1.1 404")
        started = time.monotonic()
        while client.recv(65536):  # the rest of the body, then the server's close
            pass
        assert 0.2 <= time.monotonic() - started < 3


def test_stop_returns_at_once_with_an_idle_keep_alive_client_and_leaves_no_thread() -> None:
    threads_before = set(threading.enumerate())
    running = start_sandbox()
    with requests.Session() as session:
        answer = session.get(running.base_url + "/2/nothing", timeout=TIMEOUT)
        assert answer.status_code == 404  # its connection now waits, idle, for a next request
        started = time.monotonic()
        running.stop()
        assert time.monotonic() - started < 1.0
        assert set(threading.enumerate()) <= threads_before
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(running.base_url + "/2/nothing", timeout=TIMEOUT)


# -- the media host ---------------------------------------------------------------------------


def test_every_video_and_gif_preview_is_served_without_auth(sandbox: Sandbox) -> None:
    with_preview = [m for m in sandbox.world.media if m.type in ("video", "animated_gif")]
    assert with_preview
    sandbox.request_log.clear()
    for media in with_preview[:5]:
        response = get(sandbox, preview_image_path(media.media_key))
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/svg+xml; charset=utf-8"
        assert response.text == preview_image_svg(media)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "max-age" in response.headers["cache-control"]
    logged = sandbox.request_log.entries()
    assert [(e.path, e.auth, e.status) for e in logged] == [
        (preview_image_path(m.media_key), "none", 200) for m in with_preview[:5]
    ]
    sandbox.request_log.clear()


def test_photos_unknown_keys_and_other_methods_get_no_preview(sandbox: Sandbox) -> None:
    photo = next(m for m in sandbox.world.media if m.type == "photo")
    assert get(sandbox, preview_image_path(photo.media_key)).status_code == 404
    assert get(sandbox, preview_image_path("7_1")).status_code == 404
    assert get(sandbox, "/media/preview/7_1.jpg").status_code == 404
    video = next(m for m in sandbox.world.media if m.type == "video")
    posted = requests.post(sandbox.base_url + preview_image_path(video.media_key), timeout=TIMEOUT)
    assert posted.status_code == 405
    assert posted.json()["type"] == "about:blank"


def test_previews_are_neither_faulted_nor_rate_limited(fresh_sandbox: Sandbox) -> None:
    video = next(m for m in fresh_sandbox.world.media if m.type == "video")
    fresh_sandbox.faults.configure(FaultConfig(rate_500=1.0, path_prefix="/"))
    assert (
        get(
            fresh_sandbox, "/2/tweets", params={"ids": "20"}, headers=bearer(fresh_sandbox)
        ).status_code
        == 500
    )
    statuses = {
        get(fresh_sandbox, preview_image_path(video.media_key)).status_code for _ in range(3)
    }
    assert statuses == {200}
