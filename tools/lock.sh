#!/usr/bin/env bash
# Writes requirements.lock: every package (runtime, cluster and test extras) that CI,
# `make run`, `make test` and `make binary` install, pinned, with the hashes of every file
# PyPI has for each pin, so pip installs exactly these bytes (`--require-hashes`).
#
# Reproducible: the resolution only sees releases published before LOCK_DATE (uv's
# --exclude-newer); the date used is written in the lock's header, and running this again
# with the same LOCK_DATE gives the same file. Run it after changing pyproject.toml's
# dependencies, or to take newer releases (a new date), and commit the result:
#   tools/lock.sh                   # releases up to today
#   LOCK_DATE=2026-12-07 tools/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."

date=${LOCK_DATE:-$(date -u +%Y-%m-%d)}
uv=${UV:-}
if [ -z "$uv" ]; then
    if [ -x .venv/bin/uv ]; then
        uv=.venv/bin/uv
    elif command -v uv >/dev/null 2>&1; then
        uv=uv
    else
        python3 -m venv build/lock-tools
        build/lock-tools/bin/pip install --quiet 'uv>=0.13,<0.14'
        uv=build/lock-tools/bin/uv
    fi
fi
# the machine's CA store (a proxy's CA, if any), as pip uses it
export UV_NATIVE_TLS=${UV_NATIVE_TLS:-1}
"$uv" pip compile pyproject.toml --quiet \
    --extra test --extra cluster \
    --universal --python-version 3.11 \
    --generate-hashes \
    --exclude-newer "${date}T23:59:59Z" \
    --custom-compile-command "LOCK_DATE=$date tools/lock.sh" \
    --output-file requirements.lock
echo "requirements.lock: $(grep -c '^[a-z0-9]' requirements.lock) packages, releases up to $date"
