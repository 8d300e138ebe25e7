"""Small helpers shared by the sandbox tests (timeouts on every call, auth headers)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests
from requests_oauthlib import OAuth1

from xmetrics_core.sandbox import Sandbox, SandboxAccount

# These tests sign with requests-oauthlib directly (not through xmetrics_core.credentials, which
# does the same): it logs access tokens at DEBUG, and the run-wide token-hygiene check reads
# that log.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)

#: The ``sandbox_factory`` fixture's type (see tests/conftest.py).
SandboxFactory = Callable[..., Sandbox]

TIMEOUT = 5.0
ALL_TWEET_FIELDS = (
    "public_metrics,non_public_metrics,organic_metrics,promoted_metrics,created_at,author_id,"
    "attachments"
)
ALL_MEDIA_FIELDS = (
    "public_metrics,non_public_metrics,organic_metrics,promoted_metrics,duration_ms,type,"
    "preview_image_url,url,variants,width,height,alt_text"
)
PRIVATE_TWEET_FIELDS = "non_public_metrics,organic_metrics,promoted_metrics"


def bearer(sandbox: Sandbox) -> dict[str, str]:
    """The app-only Authorization header."""
    return {"Authorization": f"Bearer {sandbox.demo.bearer_token}"}


def oauth1(sandbox: Sandbox, account: SandboxAccount | None = None) -> OAuth1:
    """requests-oauthlib's OAuth1 auth for an account (demo by default)."""
    who = account or sandbox.accounts[0]
    return OAuth1(
        sandbox.demo.consumer_key,
        sandbox.demo.consumer_secret,
        who.access_token,
        who.access_token_secret,
    )


def user_bearer(sandbox: Sandbox, user_id: str | None = None, **kwargs: Any) -> dict[str, str]:
    """An OAuth 2.0 user-token Authorization header minted without the consent page."""
    token = sandbox.issue_oauth2_token(user_id or sandbox.world.demo_user_id, **kwargs)
    return {"Authorization": f"Bearer {token['access_token']}"}


def get(sandbox: Sandbox, path: str, **kwargs: Any) -> requests.Response:
    """GET ``path`` on the sandbox with a timeout."""
    return requests.get(sandbox.base_url + path, timeout=TIMEOUT, **kwargs)
