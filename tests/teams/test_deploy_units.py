"""deploy/systemd's units, checked by systemd itself (``systemd-analyze verify``: syntax, known
keys and values, executable commands) with /opt/xmetrics pointed at this checkout's Python.
Only checked, not run: this machine has no systemd as PID 1 (README says so)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.teams.cluster import NGINX, REPO

UNITS = REPO / "deploy" / "systemd"


def _verify(units: list[Path]) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail(
            "systemd-analyze is not installed (Debian: apt-get install systemd): the deploy "
            "units are checked with it; the team tests never skip.",
            pytrace=False,
        )
    return subprocess.run(
        [tool, "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _installed(tmp_path: Path) -> list[Path]:
    """The units as they would be installed, with /opt/xmetrics → a checkout of this repo."""
    checkout = tmp_path / "opt-xmetrics"
    bin_dir = checkout / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "streamlit"):
        (bin_dir / name).symlink_to(Path(sys.executable).with_name(name))
    installed = []
    for unit in sorted(UNITS.glob("*.service")) + sorted(UNITS.glob("*.target")):
        name = unit.name.replace("@.service", "@8501.service")  # an instance of the template
        target = tmp_path / name
        target.write_text(unit.read_text().replace("/opt/xmetrics", str(checkout)))
        installed.append(target)
    return installed


def test_the_systemd_units_verify_cleanly(tmp_path: Path):
    units = _installed(tmp_path)
    assert {u.name for u in units} == {
        "xmetrics@8501.service",
        "xmetrics-sandbox.service",
        "xmetrics.target",
    }
    verified = _verify(units)
    assert verified.returncode == 0, verified.stderr
    assert (verified.stdout + verified.stderr).strip() == ""


def test_a_broken_unit_is_caught_by_the_check(tmp_path: Path):
    (replica,) = [u for u in _installed(tmp_path) if u.name.startswith("xmetrics@")]
    replica.write_text(replica.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    verified = _verify([replica])
    assert "restart specifier" in verified.stdout + verified.stderr


def test_the_replica_unit_starts_streamlit_as_run_team_does():
    unit = (UNITS / "xmetrics@.service").read_text()
    script = (REPO / "deploy" / "run-team.sh").read_text()
    for option in (
        "--server.headless=true",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
    ):
        assert option in unit and option in script, option
    assert "EnvironmentFile=/etc/xmetrics/team.env" in unit
    env = (UNITS / "team.env.example").read_text()
    for name in ("XMETRICS_STATE_URL", "XMETRICS_STATE_KEY", "STREAMLIT_SERVER_COOKIE_SECRET"):
        assert f"\n{name}=" in env, name


def test_the_rendered_nginx_conf_is_accepted_by_nginx(tmp_path: Path):
    """deploy/nginx_conf.py (run-team.sh's, the clusters' and compose's renderer) gives a
    configuration Debian's nginx accepts (``nginx -t``), one upstream line per replica."""
    if not NGINX.exists():
        pytest.fail("Debian's nginx is not installed (/usr/sbin/nginx)", pytrace=False)
    run_dir = tmp_path / "run"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "deploy" / "nginx_conf.py"),
            str(run_dir),
            "127.0.0.1:18500",
            "127.0.0.1:18501",
            "127.0.0.1:18502",
        ],
        check=True,
        timeout=30,
    )
    conf = (run_dir / "nginx.conf").read_text()
    for placeholder in ("@PREFIX@", "@LISTEN@", "@UPSTREAMS@"):
        assert placeholder not in conf.split("\nworker_processes", 1)[1], placeholder
    assert conf.count("max_fails=1 fail_timeout=10s;") == 2
    checked = subprocess.run(
        [str(NGINX), "-t", "-p", str(run_dir), "-c", str(run_dir / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
