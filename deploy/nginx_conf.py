"""Fill in ``deploy/nginx.conf``'s placeholders: the one renderer for ``deploy/run-team.sh``
and the team tests' and benchmark's clusters (``tests/teams/cluster.py``).

    python deploy/nginx_conf.py RUN_DIR LISTEN UPSTREAM [UPSTREAM …]

writes ``RUN_DIR/nginx.conf``: ``@PREFIX@`` = RUN_DIR (logs, pid, temporary files),
``@LISTEN@`` = LISTEN (``127.0.0.1:8500``), ``@UPSTREAMS@`` = one ``server`` line per
UPSTREAM (``127.0.0.1:8501``; a replica that stops answering is skipped for 10 s).
"""

from __future__ import annotations

import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf")


def render(*, run_dir: Path, listen: str, upstreams: list[str]) -> str:
    """The template with its placeholders filled in."""
    servers = "".join(
        f"        server {address} max_fails=1 fail_timeout=10s;\n" for address in upstreams
    )
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("@PREFIX@", str(run_dir)).replace("@LISTEN@", listen)
    return text.replace("@UPSTREAMS@\n", servers)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        sys.stderr.write("usage: nginx_conf.py RUN_DIR LISTEN UPSTREAM [UPSTREAM …]\n")
        return 2
    run_dir = Path(argv[0]).resolve()
    for folder in ("logs", "tmp"):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    conf = render(run_dir=run_dir, listen=argv[1], upstreams=argv[2:])
    (run_dir / "nginx.conf").write_text(conf, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
