#!/usr/bin/env bash
# Start xmetrics for a team on one host: N `streamlit run server.py` replicas sharing Redis
# (and PostgreSQL for the history), one shared cookie secret, optionally one shared Demo
# sandbox, and Debian's nginx in front (README: "Running for a team"). Runs in the foreground;
# Ctrl-C (or SIGTERM) stops everything it started.
#
#   XMETRICS_STATE_URL=redis://127.0.0.1:6379/0 \
#   XMETRICS_STATE_KEY=<Fernet key> \
#   XMETRICS_DATABASE_URL=postgresql+psycopg://xmetrics@127.0.0.1:5432/xmetrics \
#   deploy/run-team.sh --replicas 2 --port 8500 [--demo] [--public-url https://metrics.example/]
#
# Options: --replicas N (default 2), --port P (nginx's port, default 8500; replicas use P+1…P+N),
# --demo (start the shared Demo sandbox), --public-url URL (the address people open: the Demo's
# sign-in callback; default http://127.0.0.1:P/), --no-nginx, --run-dir DIR (default .team-run).
set -euo pipefail
cd "$(dirname "$0")/.."

replicas=2
port=8500
demo=0
nginx=1
public_url=""
run_dir=".team-run"
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --demo) demo=1; shift ;;
    --public-url) public_url="$2"; shift 2 ;;
    --no-nginx) nginx=0; shift ;;
    --run-dir) run_dir="$2"; shift 2 ;;
    *) echo "run-team.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
public_url="${public_url:-http://127.0.0.1:${port}/}"
python="${PYTHON:-.venv/bin/python}"
streamlit="$(dirname "$python")/streamlit"

if [ -z "${XMETRICS_STATE_URL:-}" ]; then
  echo "run-team.sh: set XMETRICS_STATE_URL (e.g. redis://127.0.0.1:6379/0): replicas share state there" >&2
  exit 2
fi
if [ -z "${XMETRICS_STATE_KEY:-}" ]; then
  echo "run-team.sh: set XMETRICS_STATE_KEY, the same on every replica; make one with:" >&2
  echo "  $python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'" >&2
  exit 2
fi
if [ -z "${XMETRICS_DATABASE_URL:-}" ]; then
  echo "run-team.sh: XMETRICS_DATABASE_URL is not set: each replica keeps its own SQLite history" >&2
fi

mkdir -p "$run_dir"  # secrets inside are 0600; nginx workers read the rest
run_dir="$(cd "$run_dir" && pwd)"
# One cookie secret for every replica (Streamlit signs its cookies with it).
if [ -z "${STREAMLIT_SERVER_COOKIE_SECRET:-}" ]; then
  if [ ! -s "$run_dir/cookie-secret" ]; then
    (umask 077; "$python" -c 'import secrets; print(secrets.token_hex(32))' >"$run_dir/cookie-secret")
  fi
  STREAMLIT_SERVER_COOKIE_SECRET="$(cat "$run_dir/cookie-secret")"
fi
export STREAMLIT_SERVER_COOKIE_SECRET

children=()
stop_all() {
  trap - TERM INT EXIT
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop_all TERM INT EXIT

if [ "$demo" = 1 ]; then
  sandbox_file="$run_dir/demo-sandbox.json"
  rm -f "$sandbox_file"
  (umask 077; exec "$python" -m xmetrics_core.sandbox --port 0 --tier enterprise \
      --redirect-uri "$public_url" >"$sandbox_file" 2>"$run_dir/sandbox.log") &
  children+=($!)
  for _ in $(seq 1 100); do [ -s "$sandbox_file" ] && break; sleep 0.2; done
  [ -s "$sandbox_file" ] || { echo "run-team.sh: the Demo sandbox did not start (see $run_dir/sandbox.log)" >&2; exit 1; }
  export XMETRICS_DEMO_SANDBOX_FILE="$sandbox_file"
fi

upstreams=()
for i in $(seq 1 "$replicas"); do
  replica_port=$((port + i))
  "$streamlit" run server.py --server.headless=true --server.address=127.0.0.1 \
      --server.port="$replica_port" --browser.gatherUsageStats=false \
      --server.fileWatcherType=none --server.runOnSave=false \
      >"$run_dir/replica-$i.log" 2>&1 &
  children+=($!)
  upstreams+=("127.0.0.1:${replica_port}")
done

if [ "$nginx" = 1 ]; then
  nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
  [ -x "$nginx_bin" ] || { echo "run-team.sh: nginx is not installed (apt-get install nginx), or pass --no-nginx" >&2; exit 1; }
  "$python" deploy/nginx_conf.py "$run_dir" "127.0.0.1:$port" "${upstreams[@]}"
  "$nginx_bin" -p "$run_dir" -c "$run_dir/nginx.conf" -g 'daemon off;' &
  children+=($!)
  echo "xmetrics for a team: $public_url (nginx on 127.0.0.1:$port, $replicas replicas on $((port + 1))…$((port + replicas)))"
else
  echo "xmetrics for a team: $replicas replicas on 127.0.0.1:$((port + 1))…$((port + replicas)) (no nginx)"
fi
# Until Ctrl-C/SIGTERM: a replica that dies leaves the others serving (nginx skips it).
wait
