# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck imports pytest chromium postgresql cluster-servers screenshot binary clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed  ## start the server on its embedded defaults
	$(BIN)/chatd serve

test: $(BIN)/.installed chromium postgresql cluster-servers lint typecheck imports binary pytest  ## every check

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools

typecheck: $(BIN)/.installed
	$(BIN)/mypy

imports: $(BIN)/.installed
	$(BIN)/lint-imports

pytest: $(BIN)/.installed
	$(BIN)/pytest -q

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
