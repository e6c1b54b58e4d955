"""Render docs/screenshot.png: a team's main view in Chromium (run by `make screenshot`)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.conftest import PASSWORD, Team, start_server  # noqa: E402


def main() -> None:
    server = start_server(Path(tempfile.mkdtemp()), auth_registration="open")
    try:
        team = Team(server)
        names = [("maria", "Maria Lopez"), ("ken", "Ken Sato"), ("ada", "Ada Okafor")]
        people = {name: team.user(name, shown) for name, shown in names}
        ids = [user["id"] for user, _ in people.values()]
        with server.client(people["maria"][1]) as maria:
            general = maria.post("/api/v1/conversations", json={
                "kind": "channel", "name": "general", "topic": "Team-wide news", "members": ids,
            }).json()["conversation"]["id"]  # fmt: skip
            for name in ("release", "random"):
                maria.post("/api/v1/conversations",
                           json={"kind": "channel", "name": name, "members": ids})  # fmt: skip
            maria.post("/api/v1/conversations", json={"kind": "direct", "members": [ids[1]]})
        script = [
            ("ken", "Morning! The **0.1 release** is tagged :tada:"),
            ("ada", "Nice. Did the migration run on staging?"),
            ("ken", "Yes, took 2 seconds:\n```\nchatd serve --data-dir /srv/chatd\n```"),
            ("maria", "@ken great work. I'll write the announcement."),
            ("ada", "> the announcement\nPlease mention the new search box"),
        ]
        for who, body in script:
            with server.client(people[who][1]) as http:
                http.post(f"/api/v1/conversations/{general}/messages", json={"body": body})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1280, "height": 760})
            context.request.post(f"{server.url}/api/v1/auth/login",
                                 data={"username": "maria", "password": PASSWORD,
                                       "session_cookie": True})  # fmt: skip
            page = context.new_page()
            page.goto(f"{server.url}/#/c/{general}")
            page.get_by_role("log", name="Messages").get_by_role("article").last.wait_for()
            page.wait_for_timeout(500)
            page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
