# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck imports pytest floors lock chromium postgresql cluster-servers screenshot binary clean

# The venv (CI's, `make run`'s, the binary's) installs requirements.lock: exact versions,
# hash-checked, so a release is built from known bytes. tools/lock.sh rewrites the lock.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: $(BIN)/.installed  ## start the server on its embedded defaults
	$(BIN)/chatd serve

test: $(BIN)/.installed chromium postgresql cluster-servers lint typecheck imports binary pytest floors  ## every check

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools

typecheck: $(BIN)/.installed
	$(BIN)/mypy

imports: $(BIN)/.installed
	$(BIN)/lint-imports

pytest: $(BIN)/.installed
	$(BIN)/pytest -q

# The lowest versions pyproject.toml allows (each direct dependency at its floor, the rest
# resolved as pip would) in a venv of their own, and the tests that lean on them: the
# protocol subclasses, sockets, uploads, the envelope. About two minutes.
FLOORS_TESTS = tests/test_wsprotocol.py tests/test_http_limits.py tests/test_bad_input.py \
	tests/test_realtime.py tests/test_files.py tests/test_envelope.py tests/test_ops.py
# Releases newer than the lock's date stay out, so this check is as reproducible as the lock.
LOCK_DATE := $(shell sed -n 's/.*LOCK_DATE=\([0-9-]*\).*/\1/p' requirements.lock | head -n 1)
floors: $(BIN)/.installed  ## the floors in pyproject.toml still pass the tests that need them
	rm -rf build/floors
	UV_NATIVE_TLS=1 $(BIN)/uv pip compile pyproject.toml --quiet --resolution lowest-direct \
		--python-version 3.11 --exclude-newer $(LOCK_DATE)T23:59:59Z --output-file build/floors.txt
	$(PYTHON) -m venv build/floors
	build/floors/bin/pip install --quiet -r build/floors.txt \
		$$(grep -E '^pytest==' requirements.lock | cut -d' ' -f1)
	build/floors/bin/pip install --quiet --no-deps -e .
	CHATD_TEST_BACKENDS=sqlite build/floors/bin/python -m pytest -q -p no:randomly $(FLOORS_TESTS)

lock:  ## rewrite requirements.lock from pyproject.toml (see tools/lock.sh)
	tools/lock.sh

chromium:  ## Debian's chromium for the browser tests (Playwright never downloads one)
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

postgresql:  ## Debian's PostgreSQL for the tests on the postgres backend (they start their own)
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

cluster-servers:  ## Debian's nats-server and caddy for the several-node tests
	@command -v nats-server >/dev/null 2>&1 && command -v caddy >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nats-server caddy; }

binary: dist/chatd  ## the one-file executable (PyInstaller)

dist/chatd: $(BIN)/.installed $(shell find src/chatd -type f -not -name '*.pyc') packaging/pyinstaller/entry.py
	$(BIN)/pyinstaller --onefile --name chatd --noconfirm --log-level WARN \
		--collect-data chatd --collect-submodules uvicorn --collect-submodules chatd \
		--hidden-import uvloop --hidden-import httptools \
		--collect-submodules psycopg --collect-all psycopg_binary \
		--distpath dist --workpath build/pyinstaller --specpath build/pyinstaller \
		packaging/pyinstaller/entry.py

screenshot: $(BIN)/.installed chromium  ## redraw docs/screenshot*.png (emoji need a colour emoji font)
	@fc-list 2>/dev/null | grep -qi 'color emoji' || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-noto-color-emoji; }
	$(BIN)/python tools/screenshot.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
