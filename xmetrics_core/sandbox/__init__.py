"""A faithful local emulator of the X API v2 read endpoints and sign-in flows.

It is both the test double of the client and the dashboard's Demo account. Public interface
(ARCHITECTURE.md "Sandbox")::

    from xmetrics_core.sandbox import start_sandbox, SandboxSettings, FaultConfig, Fault
    with start_sandbox(settings=SandboxSettings(), seed=7, now=None, speed=0.0) as sandbox:
        sandbox.base_url, sandbox.demo, sandbox.accounts, sandbox.world
        sandbox.request_log, sandbox.faults, sandbox.clock, sandbox.usage
        sandbox.clock.freeze() / .run(speed) / .set(moment) / .advance(seconds)
        sandbox.world.metrics_at(post_id, t)       # any Post's metrics at any time (pure)
        sandbox.tier, sandbox.set_tier("enterprise"), sandbox.set_credits(n)
        sandbox.register_redirect_uri(uri)
        sandbox.issue_oauth2_token(user_id, scopes=..., lifetime=None)

The sandbox never imports the client: it stays an independent twin of X.
"""

from xmetrics_core.sandbox.accounts import DemoCredentials, SandboxAccount
from xmetrics_core.sandbox.faults import Fault, FaultConfig, FaultInjector
from xmetrics_core.sandbox.requestlog import LoggedRequest, RequestLog
from xmetrics_core.sandbox.server import Sandbox, start_sandbox
from xmetrics_core.sandbox.settings import SandboxClock, SandboxSettings, Tier
from xmetrics_core.sandbox.usage import UsageMeter
from xmetrics_core.sandbox.world import Media, Post, User, World

__all__ = [
    "DemoCredentials",
    "Fault",
    "FaultConfig",
    "FaultInjector",
    "LoggedRequest",
    "Media",
    "Post",
    "RequestLog",
    "Sandbox",
    "SandboxAccount",
    "SandboxClock",
    "SandboxSettings",
    "Tier",
    "UsageMeter",
    "User",
    "World",
    "start_sandbox",
]
