"""The web client in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, ChatdServer, Team, start_server

BACKENDS = ("sqlite",)  # the client does not know the backend; PostgreSQL runs the API tests

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():  # `make test` installs it; a bare pytest run says why it skips
    pytest.skip(
        "Debian's chromium is not installed (make test installs it)", allow_module_level=True
    )

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Visitor:
    """One person in their own browser context; every request they make is recorded."""

    def __init__(self, browser: Browser, server: ChatdServer) -> None:
        self.server = server
        self.context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 800})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: dialog.accept())

    def sign_in(self, username: str, password: str = PASSWORD) -> Visitor:
        answer = self.context.request.post(
            f"{self.server.url}/api/v1/auth/login",
            data={"username": username, "password": password, "session_cookie": True},
        )
        assert answer.ok, answer.text()
        self.page.goto(self.server.url + "/")
        expect(self.page.get_by_role("navigation", name="Conversations")).to_be_visible()
        return self

    def open(self, name: str) -> None:
        nav = self.page.get_by_role("navigation", name="Conversations")
        nav.get_by_role("link", name=re.compile(f"^{re.escape(name)}")).click()
        expect(self.page.get_by_role("log", name="Messages")).to_be_attached()

    def send(self, text: str) -> None:
        box = self.page.get_by_role("textbox", name="Message")
        box.fill(text)
        box.press("Enter")

    def messages(self) -> Any:
        return self.page.get_by_role("log", name="Messages").get_by_role("article")

    def close(self) -> None:
        assert not self.errors, self.errors
        foreign = [url for url in self.requests if not url.startswith(self.server.url)]
        assert not foreign, f"requests to other hosts: {foreign}"
        self.context.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("web"), auth_registration="open")
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def crew(site: tuple[ChatdServer, Team]) -> dict[str, Any]:
    """Two people in a channel #lobby, made through the API."""
    server, team = site
    amy, amy_token = team.user("amy", "Amy Adams")
    bob, bob_token = team.user("bob", "Bob Brown")
    with server.client(amy_token) as http:
        lobby = http.post(
            "/api/v1/conversations",
            json={"kind": "channel", "name": "lobby", "members": [bob["id"]]},
        ).json()["conversation"]
    return {"amy": (amy, amy_token), "bob": (bob, bob_token), "lobby": lobby}


def test_first_run_setup_from_printed_url(browser: Browser, tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        visitor = Visitor(browser, server)
        page = visitor.page
        page.goto(f"{server.url}/setup#token={server.setup_token}")
        expect(page.get_by_label("Setup token")).to_have_value(server.setup_token or "")
        page.get_by_label("Username").fill("founder")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create admin account").click()
        expect(page.get_by_role("navigation", name="Conversations")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        page.reload()  # the session survives a reload (HttpOnly cookie, nothing in storage)
        expect(page.get_by_role("navigation", name="Conversations")).to_be_visible()
        assert page.evaluate("() => Object.keys(localStorage).length") == 0
        assert page.evaluate("() => document.cookie") == ""  # HttpOnly: invisible to scripts
        visitor.close()
    finally:
        server.stop()


def test_sign_in_and_out(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    visitor = Visitor(browser, server)
    page = visitor.page
    page.goto(server.url + "/")
    page.get_by_label("Username").fill("amy")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    visitor.close()


def test_two_people_live(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    bob = Visitor(browser, server).sign_in("bob")
    amy.open("lobby")
    # bob is elsewhere: amy's messages count as unread for him
    amy.send("first from amy")
    amy.send("second from amy")
    lobby_link = bob.page.get_by_role("navigation", name="Conversations").get_by_role(
        "link", name=re.compile("^lobby")
    )
    expect(lobby_link).to_have_accessible_name(re.compile(r"2 unread"))
    bob.open("lobby")
    expect(bob.messages().filter(has_text="second from amy")).to_have_count(1)
    expect(lobby_link).not_to_have_accessible_name(re.compile("unread"))
    # typing, live both ways
    amy.page.get_by_role("textbox", name="Message").fill("typing something")
    expect(bob.page.get_by_role("status").filter(has_text="Amy Adams is typing")).to_be_visible()
    # the indicator lapses 6 s after the last keystroke when nothing is sent
    expect(bob.page.get_by_role("status").filter(has_text="is typing")).to_have_count(
        0, timeout=9000
    )
    amy.page.get_by_role("textbox", name="Message").press("Enter")
    expect(bob.messages().filter(has_text="typing something")).to_have_count(1)
    bob.send("hello amy")
    expect(amy.messages().filter(has_text="hello amy")).to_have_count(1)
    expect(amy.messages().filter(has_text="hello amy")).to_contain_text("Bob Brown")
    # the sender sees their own message exactly once
    expect(bob.messages().filter(has_text="hello amy")).to_have_count(1)
    amy.close()
    bob.close()


def test_xss_bodies_are_text_and_markdown_renders(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    amy.open("lobby")
    hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    amy.send(hostile)
    amy.send("**bold** and `tick`\n```\ncode block\n```\n[x](javascript:alert(1))")
    log = amy.page.get_by_role("log", name="Messages")
    expect(log.get_by_text(hostile, exact=False)).to_be_visible()
    expect(log.locator("article strong", has_text="bold")).to_be_visible()
    expect(log.locator("article pre > code", has_text="code block")).to_be_visible()
    assert log.locator("article img").count() == 0
    assert log.locator('article a[href^="javascript"]').count() == 0
    assert amy.page.evaluate("() => window.__xss") is None
    amy.close()


def test_scroll_back_loads_older_pages(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    _, amy_token = crew["amy"]
    with server.client(amy_token) as http:
        made = http.post(
            "/api/v1/conversations", json={"kind": "group", "name": "history", "members": []}
        )
        cid = made.json()["conversation"]["id"]
        for i in range(130):
            http.post(f"/api/v1/conversations/{cid}/messages", json={"body": f"line {i:03d}"})
    amy = Visitor(browser, server).sign_in("amy")
    amy.open("history")
    expect(amy.messages().filter(has_text="line 129")).to_be_visible()
    assert amy.messages().filter(has_text="line 000").count() == 0
    scroller = amy.page.locator(".history")
    for _ in range(20):
        if amy.messages().filter(has_text="line 000").count():
            break
        scroller.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        amy.page.wait_for_timeout(250)
    expect(amy.messages().filter(has_text="line 000")).to_have_count(1)
    expect(amy.messages()).to_have_count(130)
    amy.close()


def test_attach_and_download(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any], tmp_path: Path
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    bob = Visitor(browser, server).sign_in("bob")
    amy.open("lobby")
    bob.open("lobby")
    report = tmp_path / "report.txt"
    report.write_text("quarterly numbers\n")
    amy.page.get_by_label("Attach file").set_input_files(str(report))
    expect(amy.page.get_by_role("list", name="Attachments")).to_contain_text("report.txt")
    amy.page.get_by_role("button", name="Send").click()  # an empty box sends the file alone
    link = bob.page.get_by_role("link", name=re.compile("report.txt"))
    expect(link).to_be_visible()
    with bob.page.expect_download() as download:
        link.click()
    saved = tmp_path / "downloaded.txt"
    download.value.save_as(saved)
    assert saved.read_text() == "quarterly numbers\n"
    amy.close()
    bob.close()


def test_mentions_reactions_search(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    bob = Visitor(browser, server).sign_in("bob")
    bob.open("lobby")
    # amy looks elsewhere; bob mentions her: a badge, then a highlight
    amy.page.get_by_role("button", name="New group").click()
    amy.page.get_by_role("button", name="Create").click()
    # @ completes names from the conversation's members
    box = bob.page.get_by_role("textbox", name="Message")
    box.press_sequentially("@am")
    suggestions = bob.page.get_by_role("listbox", name="Mention suggestions")
    expect(suggestions.get_by_role("option", name=re.compile("Amy Adams"))).to_be_visible()
    box.press("Enter")  # picks the suggestion, does not send
    expect(box).to_have_value("@amy ")
    box.press_sequentially("please look at the zeppelin schedule")
    box.press("Enter")
    lobby_link = amy.page.get_by_role("navigation", name="Conversations").get_by_role(
        "link", name=re.compile("^lobby")
    )
    expect(lobby_link).to_have_accessible_name(re.compile("1 mention"))
    amy.open("lobby")
    mention = amy.messages().filter(has_text="zeppelin schedule")
    expect(mention).to_have_class(re.compile("mentioned"))
    expect(mention.locator("mark.mention")).to_have_text("@amy")
    # a reaction appears live for the other person
    mention.hover()
    mention.get_by_role("button", name="Add reaction").click()
    mention.get_by_role("button", name="React with 👍").click()
    bob_message = bob.messages().filter(has_text="zeppelin schedule")
    expect(bob_message.get_by_role("button", name=re.compile("👍 1"))).to_be_visible()
    # search finds the message and opens it in its conversation
    amy.page.get_by_role("searchbox", name="Search messages").fill("zeppel")
    amy.page.get_by_role("searchbox", name="Search messages").press("Enter")
    results = amy.page.get_by_role("list", name="Search results")
    expect(results).to_contain_text("zeppelin schedule")
    results.get_by_role("button", name="Open in conversation").first.click()
    expect(amy.page.locator("article.highlight")).to_contain_text("zeppelin schedule")
    amy.close()
    bob.close()


def test_admin_deactivates_a_user(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, team = site
    team.user("carl", "Carl")
    admin = Visitor(browser, server).sign_in("admin")
    carl = Visitor(browser, server).sign_in("carl")
    admin.page.get_by_role("button", name="Admin").click()
    dialog = admin.page.get_by_role("dialog", name="Admin")
    dialog.get_by_label("Search people").fill("carl")
    dialog.get_by_role("button", name="Deactivate carl").click()
    dialog.get_by_role("button", name="Yes, deactivate").click()  # it asks first
    expect(dialog.get_by_role("button", name="Reactivate carl")).to_be_visible()
    expect(dialog).to_contain_text("deactivated")
    expect(carl.page.get_by_role("button", name="Sign in")).to_be_visible()  # socket closed 4001
    admin.close()
    carl.close()


def test_reconnect_after_server_restart(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    _, bob_token = crew["bob"]
    amy = Visitor(browser, server).sign_in("amy")
    amy.open("lobby")
    amy.send("before the restart")
    expect(amy.messages().filter(has_text="before the restart")).to_have_count(1)
    port = server.port
    assert server.stop() == 0
    expect(amy.page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    server.start(port=port)
    with server.client(bob_token) as http:
        for i in range(3):
            http.post(f"/api/v1/conversations/{crew['lobby']['id']}/messages",
                      json={"body": f"after restart {i}"})  # fmt: skip
    for i in range(3):
        expect(amy.messages().filter(has_text=f"after restart {i}")).to_have_count(1)
    expect(amy.messages().filter(has_text="before the restart")).to_have_count(1)
    amy.send("amy is back")
    expect(amy.messages().filter(has_text="amy is back")).to_have_count(1)
    amy.close()
