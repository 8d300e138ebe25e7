# One entry point for people and CI. `make run` starts the dashboard, `make test` passes the tests.
# Both set up what they need first (a virtualenv in .venv; Debian's Chromium for the browser tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench chromium axe setup

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

# Browser tests drive Debian's Chromium (never `playwright install`, which downloads a browser),
# with Debian's colour emoji font so Posts with emoji render (and screenshot) as emoji, not boxes.
# The team tests (tests/teams) run Debian's nginx in front of replicas sharing Redis, and check
# deploy/systemd's units with systemd-analyze.
BROWSER_PACKAGES := chromium fonts-noto-color-emoji nginx redis-server systemd
chromium:
	@{ command -v chromium >/dev/null 2>&1 && dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 \
	   && [ -x /usr/sbin/nginx ] && command -v redis-server >/dev/null 2>&1 \
	   && command -v systemd-analyze >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES); \
	  else echo "Missing for the browser and team tests: sudo apt-get install $(BROWSER_PACKAGES) (without Chromium browser tests skip; without nginx/Redis team tests fail)"; fi; }
	@command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 \
	  && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 || true

# axe-core (accessibility audits in the browser tests), pinned in package-lock.json, installed
# into node_modules/ with Debian's node and npm; without it those tests fail, never skip.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; \
	  else echo "Missing for the accessibility tests: sudo apt-get install nodejs npm"; exit 1; fi; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

axe: node_modules/axe-core/axe.min.js

# server.py wraps app.py with the browser-session middleware (README: "Your browser keeps its session").
run: setup
	$(BIN)/streamlit run server.py

test: setup chromium axe
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done
