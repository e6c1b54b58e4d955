"""The one-file executable (`make binary`): start, health, a message round trip, SIGTERM.

It runs with an empty environment (no PATH, no PYTHONPATH, no virtualenv), as on a machine
without Python. `make test` builds dist/chatd before the suite runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import PASSWORD, ROOT
from .wsclient import WS

BINARY = Path(os.environ.get("CHATD_BINARY", ROOT / "dist" / "chatd"))


@pytest.mark.skipif(not BINARY.exists(), reason="build it first: make binary")
def test_binary_serves_and_stops_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(BINARY), "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        env={"HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        token_line = None
        while time.monotonic() < deadline and token_line is None:
            token_line = next((line for line in lines if "/setup#token=" in line), None)
            time.sleep(0.1)
        assert token_line, "".join(lines)
        url = re.search(r"(http://\S+?)/setup", token_line).group(1)  # type: ignore[union-attr]
        setup_token = re.search(r"token=(\S+)", token_line).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            assert "chatd" in http.get("/").text
            first = {"setup_token": setup_token, "username": "root", "password": PASSWORD}
            made = http.post("/api/v1/setup", json=first)
            token = made.json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            group = {"kind": "group", "members": []}
            cid = http.post("/api/v1/conversations", headers=auth, json=group).json()[
                "conversation"
            ]["id"]
            ws = WS(url, token)
            ws.welcome()
            http.post(f"/api/v1/conversations/{cid}/messages", headers=auth, json={"body": "hi"})
            assert ws.expect("message.created")["message"]["body"] == "hi"
            ws.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
