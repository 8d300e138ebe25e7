"""A team deployment on loopback, for the team tests: one shared Demo sandbox process, N
``streamlit run server.py`` replicas sharing Redis (and PostgreSQL for the history), and
optionally Debian's nginx in front (``deploy/nginx.conf`` rendered by
``deploy/nginx_conf.py``, as ``deploy/run-team.sh`` does). Every process is bounded by ``timeout`` and stopped by
:meth:`Cluster.stop` (TERM to its process group, then KILL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import redis
import sqlalchemy as sa

from xmetrics_core.client import XClient
from xmetrics_core.connection import AuthMethod, Connection, endpoints_for
from xmetrics_core.credentials import OAuth1Credential
from xmetrics_core.signin import connect

REPO = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")
LIFETIME_SECONDS = 300
REPLICA_DEMO_LAG = timedelta(days=9)
"""How far the replicas' own (unused in team mode) Demo world is behind the shared one."""
"""No process of a test cluster outlives this, whatever happens to the test run."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bounded(command: list[str]) -> list[str]:
    return [shutil.which("timeout") or "timeout", "-s", "TERM", str(LIFETIME_SECONDS), *command]


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class Replica(Process):
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    demo_now: datetime
    sandbox_line: dict[str, object] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    others: list[Process] = field(default_factory=list)
    nginx_port: int | None = None

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}/"

    def stop(self) -> None:
        for process in [*self.replicas, *self.others]:
            process.stop()


def _spawn(name: str, command: list[str], *, root: Path, env: dict[str, str]) -> Process:
    log_path = root / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _bounded(command),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(name=name, process=process, log_path=log_path)


def _first_line(process: Process, *, deadline_seconds: float = 60) -> str:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        text = process.log()
        if "\n" in text:
            return text.split("\n", 1)[0]
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{text}")
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} printed nothing:\n{process.log()}")


def wait_healthy(process: Process, base_url: str, *, deadline_seconds: float = 90) -> None:
    """Until ``base_url`` (a replica, or nginx in front of them) answers its health check."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{process.log()}")
        try:
            with urlopen(f"{base_url}_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except (URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"{process.name} did not become healthy:\n{process.log()}")


def start_replica(cluster: Cluster, name: str, port: int) -> Replica:
    """``streamlit run server.py`` on ``port`` with the cluster's shared environment."""
    home = cluster.root / f"{name}-home"
    home.mkdir(exist_ok=True)
    env = {**cluster.env, "HOME": str(home), "XMETRICS_CONFIG_DIR": str(home / "config")}
    started = _spawn(
        name,
        [
            str(Path(sys.executable).with_name("streamlit")),
            "run",
            "server.py",
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
            "--server.runOnSave=false",
            "--logger.level=debug",  # the token-hygiene checks read these logs
        ],
        root=cluster.root,
        env=env,
    )
    replica = Replica(name=name, process=started.process, log_path=started.log_path, port=port)
    cluster.replicas.append(replica)
    wait_healthy(replica, replica.base_url)
    return replica


def start_nginx(cluster: Cluster) -> Process:
    """Debian's nginx on ``cluster.nginx_port`` in front of every replica, unprivileged."""
    if not NGINX.exists():
        raise RuntimeError(
            "Debian's nginx is not installed (/usr/sbin/nginx): apt-get install nginx "
            "(`make test` and .ci/run install it)"
        )
    assert cluster.nginx_port is not None
    run_dir = cluster.root / "nginx"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "deploy" / "nginx_conf.py"),
            str(run_dir),
            f"127.0.0.1:{cluster.nginx_port}",
            *[f"127.0.0.1:{replica.port}" for replica in cluster.replicas],
        ],
        check=True,
        timeout=30,
    )
    nginx = _spawn(
        "nginx",
        [str(NGINX), "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"), "-g", "daemon off;"],
        root=cluster.root,
        env=cluster.env,
    )
    cluster.others.append(nginx)
    wait_healthy(nginx, cluster.nginx_url)
    return nginx


def start_cluster(
    root: Path,
    *,
    replicas: int,
    state_url: str,
    state_key: str,
    state_prefix: str,
    database_url: str,
    nginx: bool = False,
) -> Cluster:
    """The shared sandbox, ``replicas`` replicas (and nginx), all healthy; stop() on failure."""
    ports = [free_port() for _ in range(replicas)]
    nginx_port = free_port() if nginx else None
    demo_now = datetime.now(UTC).replace(microsecond=0)
    base_env = {
        key: value for key, value in os.environ.items() if not key.startswith(("X_", "XMETRICS_"))
    }
    base_env["PYTHONUNBUFFERED"] = "1"
    root.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(root=root, env={}, demo_now=demo_now, nginx_port=nginx_port)
    try:
        redirect_uris = [f"http://127.0.0.1:{port}/" for port in ports]
        if nginx_port is not None:
            redirect_uris.append(f"http://127.0.0.1:{nginx_port}/")
        sandbox = _spawn(
            "sandbox",
            [
                sys.executable,
                "-m",
                "xmetrics_core.sandbox",
                "--port",
                "0",
                "--tier",
                "enterprise",
                "--speed",
                "0",
                "--now",
                demo_now.isoformat(),
                *[arg for uri in redirect_uris for arg in ("--redirect-uri", uri)],
            ],
            root=root,
            env=base_env,
        )
        cluster.others.append(sandbox)
        line = _first_line(sandbox)
        cluster.sandbox_line = json.loads(line)
        sandbox_file = root / "demo-sandbox.json"
        sandbox_file.write_text(line + "\n", encoding="utf-8")
        sandbox_file.chmod(0o600)
        cluster.env = {
            **base_env,
            "XMETRICS_STATE_URL": state_url,
            "XMETRICS_STATE_KEY": state_key,
            "XMETRICS_STATE_PREFIX": state_prefix,
            "XMETRICS_DEMO_SANDBOX_FILE": str(sandbox_file),
            "XMETRICS_DATABASE_URL": database_url,
            "XMETRICS_DEMO_DATABASE_URL": database_url,
            # each replica's own embedded Demo world is deliberately another one (nine days
            # earlier): in team mode everything Demo follows the shared sandbox instead
            # (tests/teams/test_team_demo.py)
            "XMETRICS_DEMO_NOW": (demo_now - REPLICA_DEMO_LAG).isoformat(),
            # one cookie secret for every replica (st.login, XSRF): as deploy/ does
            "STREAMLIT_SERVER_COOKIE_SECRET": os.urandom(16).hex(),
        }
        for index, port in enumerate(ports):
            start_replica(cluster, f"replica-{'ab'[index] if index < 2 else index}", port)
        if nginx:
            start_nginx(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def demo_connection(cluster: Cluster) -> tuple[Connection, XClient]:
    """A connection to the shared sandbox as its Demo user (the OAuth 1.0a keys of its
    credentials line), checked with ``GET /2/users/me`` like any sign-in, and its client."""
    line = cluster.sandbox_line
    credential = OAuth1Credential(
        consumer_key=str(line["consumer_key"]),
        consumer_secret=str(line["consumer_secret"]),
        access_token=str(line["access_token"]),
        access_token_secret=str(line["access_token_secret"]),
    )
    return connect(
        credential, method=AuthMethod.OAUTH1_KEYS, endpoints=endpoints_for(str(line["base_url"]))
    )


def drop_team_resources(*, redis_url: str, prefix: str, admin: sa.Engine, schema: str) -> None:
    """Remove what a test or bench cluster left: its Redis keys (under ``prefix``) and its
    PostgreSQL schema; ``admin`` is disposed."""
    client = redis.Redis.from_url(redis_url, socket_timeout=3)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)
    client.close()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()
