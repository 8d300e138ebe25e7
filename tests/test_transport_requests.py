"""RequestsTransport over real loopback sockets: the query it sends, signed requests against
the sandbox, and one connection per calling thread kept alive between calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from xmetrics_core.catalogue import ALL_GROUPS
from xmetrics_core.credentials import OAuth1Credential
from xmetrics_core.fetchplan import lookup_params
from xmetrics_core.transport import HttpRequest, RequestsTransport


class _RecordingHandler(BaseHTTPRequestHandler):
    """Answers ``{}`` and keeps each request line's target."""

    protocol_version = "HTTP/1.1"
    targets: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.targets.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records the target of every request it answers."""
    targets: list[str] = []
    handler = type("Recording", (_RecordingHandler,), {"targets": targets})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", targets
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_lookup_queries_keep_commas_literal_as_in_xs_docs(
    recording_server: tuple[str, list[str]],
) -> None:
    base_url, targets = recording_server
    params = lookup_params(["20", "1460323737035677698"], ALL_GROUPS)
    transport = RequestsTransport()
    try:
        answer = transport.send(
            HttpRequest(method="GET", url=f"{base_url}/2/tweets", params=params)
        )
    finally:
        transport.close()
    assert answer.status == 200
    (target,) = targets
    assert target.startswith("/2/tweets?ids=20,1460323737035677698&")
    assert "%2C" not in target.upper()
    assert "tweet.fields=" in target


def test_a_signed_100_id_lookup_with_literal_commas_verifies_at_the_sandbox(sandbox: Any) -> None:
    demo = sandbox.demo
    credential = OAuth1Credential(
        consumer_key=demo.consumer_key,
        consumer_secret=demo.consumer_secret,
        access_token=demo.access_token,
        access_token_secret=demo.access_token_secret,
    )
    ids = [post.id for post in sandbox.world.posts[:100]]
    transport = RequestsTransport()
    try:
        answer = transport.send(
            HttpRequest(
                method="GET",
                url=f"{sandbox.base_url}/2/tweets",
                params=lookup_params(ids, ALL_GROUPS),
                auth=credential.auth(),
            )
        )
    finally:
        transport.close()
    assert answer.status == 200, answer.text
    body = answer.json_object()
    assert body is not None
    answered = {item["id"] for item in body.get("data", [])}
    refused = {error["resource_id"] for error in body.get("errors", [])}
    assert answered | refused == set(ids)


def test_a_calling_threads_calls_share_one_kept_alive_connection(fresh_sandbox: Any) -> None:
    post_id = fresh_sandbox.world.demo_posts[1].id
    request = HttpRequest(
        method="GET",
        url=f"{fresh_sandbox.base_url}/2/tweets",
        params={"ids": post_id},
        headers={"Authorization": f"Bearer {fresh_sandbox.demo.bearer_token}"},
    )
    transport = RequestsTransport()
    try:
        statuses = [transport.send(request).status for _ in range(3)]
    finally:
        transport.close()
    assert statuses == [200, 200, 200]
    assert [e.connection for e in fresh_sandbox.request_log.entries()] == [1, 1, 1]
