"""Render the README's pictures in Chromium (run by `make screenshot`): docs/screenshot.png
(a team's main view), docs/screenshot-phone.png (phone width, a message's actions shown)
and docs/screenshot-dark.png (dark mode, a thread open)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

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
            made = maria.post("/api/v1/conversations", json={
                "kind": "channel", "name": "general", "topic": "Team-wide news", "members": ids,
            })  # fmt: skip
            if made.status_code == 409:  # the server made it (auth.default_channels)
                found = maria.get("/api/v1/channels?q=general").json()["conversations"]
                general = next(c["id"] for c in found if c["name"] == "general")
                with server.client(team.admin_token) as admin:
                    admin.patch(
                        f"/api/v1/conversations/{general}", json={"topic": "Team-wide news"}
                    )
                for token in (people[name][1] for name, _ in names):
                    with server.client(token) as http:
                        http.post(f"/api/v1/conversations/{general}/join")
            else:
                general = made.json()["conversation"]["id"]
            channels = {
                name: maria.post("/api/v1/conversations",
                                 json={"kind": "channel", "name": name, "members": ids})
                .json()["conversation"]["id"]
                for name in ("release", "random")
            }  # fmt: skip
            direct = maria.post(
                "/api/v1/conversations", json={"kind": "direct", "members": [ids[1]]}
            ).json()["conversation"]["id"]
            release = channels["release"]

        def say(who: str, where: str, body: str, **extra: Any) -> dict[str, Any]:
            with server.client(people[who][1]) as http:
                answer = http.post(f"/api/v1/conversations/{where}/messages",
                                   json={"body": body, **extra})  # fmt: skip
                found: dict[str, Any] = answer.json()["message"]
                return found

        tagged = say("ken", general, "Morning! The **0.1 release** is tagged :tada:")
        root = say("ada", general, "Nice. Did the migration run on staging?")
        say("ken", general, "Yes, took 2 seconds:\n```\nchatd serve --data-dir /srv/chatd\n```")
        thanks = say("maria", general, "@ken great work. I'll write the announcement.")
        say("ken", general, "It did, no errors.", reply_to=root["id"], thread=True)
        read = say("maria", general, "Thanks, ticking it off.", reply_to=root["id"], thread=True)
        say(
            "ada",
            general,
            "> I'll write the announcement\n@maria please mention the new search box",
        )
        say("ken", release, "Changelog draft is up for review")
        say("ken", direct, "Lunch after the release?")
        with server.client(people["maria"][1]) as http:  # she read up to her thread reply
            http.post(f"/api/v1/conversations/{general}/read", json={"seq": read["seq"]})
        for who in ("ada", "ken"):
            with server.client(people[who][1]) as http:
                http.put(f"/api/v1/messages/{tagged['id']}/reactions/%F0%9F%8E%89")
        with server.client(people["ada"][1]) as http:
            http.put(f"/api/v1/messages/{thanks['id']}/reactions/%F0%9F%91%8D")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )

            def open_page(**options: Any) -> Any:
                context = browser.new_context(**options)
                context.request.post(f"{server.url}/api/v1/auth/login",
                                     data={"username": "maria", "password": PASSWORD,
                                           "session_cookie": True})  # fmt: skip
                page = context.new_page()
                page.goto(f"{server.url}/#/c/{general}")
                page.get_by_role("log", name="Messages").get_by_role("article").last.wait_for()
                page.wait_for_timeout(500)
                return page

            page = open_page(viewport={"width": 1280, "height": 760})
            page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
            phone = open_page(viewport={"width": 390, "height": 780}, has_touch=True,
                              device_scale_factor=2)  # fmt: skip
            # a tap on one's own message shows its actions (not on the last one: that one
            # shows what a mention of the reader looks like)
            phone.get_by_role("log", name="Messages").get_by_role("article").filter(
                has_text="great work"
            ).locator(".body").tap()
            phone.wait_for_timeout(300)
            phone.screenshot(path=str(ROOT / "docs" / "screenshot-phone.png"))
            dark = open_page(viewport={"width": 1280, "height": 760}, color_scheme="dark")
            dark.get_by_role("button", name="2 replies").click()
            dark.get_by_role("complementary", name="Thread").get_by_role("article").last.wait_for()
            dark.wait_for_timeout(500)
            dark.screenshot(path=str(ROOT / "docs" / "screenshot-dark.png"))
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
