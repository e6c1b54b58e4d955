"""The web client's second round in Chromium: what a new team stumbled on (issue 19).

One server and one browser for the module; each test signs its people in with their own
browser context. The restart test runs last (it stops and starts the shared server).
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ChatdServer, Team, start_server
from .test_web import Visitor, browser  # noqa: F401  (the module's shared browser fixture)

from playwright.sync_api import Browser, Page, Route, expect  # isort: skip

pytestmark = pytest.mark.browser

AT_BOTTOM = (
    "() => { const el = document.querySelector('.history');"
    " return el.scrollHeight - el.scrollTop - el.clientHeight < 4; }"
)
TWO_FRAMES = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour (small once compressed, large on screen)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("web2"), auth_registration="open")
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def crew(site: tuple[ChatdServer, Team]) -> dict[str, Any]:
    """Amy (owner) and Bob in a channel #den, made through the API."""
    server, team = site
    amy, amy_token = team.user("amy", "Amy Adams")
    bob, bob_token = team.user("bob", "Bob Brown")
    with server.client(amy_token) as http:
        den = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "den", "members": [bob["id"]]}
        ).json()["conversation"]
    return {"amy": (amy, amy_token), "bob": (bob, bob_token), "den": den}


def post(server: ChatdServer, token: str, conversation_id: str, body: str, **extra: Any) -> Any:
    with server.client(token) as http:
        answer = http.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"body": body, **extra}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["message"]


def upload(server: ChatdServer, token: str, name: str, data: bytes) -> str:
    with server.client(token) as http:
        answer = http.post("/api/v1/files", files={"file": (name, data, "image/png")})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["file"]["id"])


def wait_for(page: Page, condition: Any, seconds: float = 10) -> None:
    """Let the page's events run until `condition()` holds (route handlers run meanwhile)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def test_images_loading_late_keep_the_newest_message_in_view(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, team = site
    _, bob_token = crew["bob"]
    room = team.user("pia", "Pia")[1]
    with server.client(room) as http:
        gallery = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "gallery", "members": []}
        ).json()["conversation"]["id"]
    with server.client(bob_token) as http:
        http.post(f"/api/v1/conversations/{gallery}/join")
    for i in range(15):
        post(server, bob_token, gallery, f"warming up the history, line {i}")
    colours = [(200, 40, 40), (40, 160, 60), (40, 80, 200)]
    for i, colour in enumerate(colours):
        file_id = upload(server, bob_token, f"shot-{i}.png", png(800, 600, colour))
        post(server, bob_token, gallery, f"screenshot {i}", file_ids=[file_id])
    bob = Visitor(browser, server).sign_in("bob")
    page = bob.page
    held: list[Route] = []
    page.route("**/api/v1/files/**", lambda route: held.append(route))
    bob.open("gallery")
    wait_for(page, lambda: len(held) >= 3)  # the images are requested and held back
    for route in held:
        route.continue_()
    held.clear()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.inline-image')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    page.evaluate(TWO_FRAMES)
    page.wait_for_function(AT_BOTTOM, timeout=3000)
    # an image you send yourself is not cut off either
    page.get_by_label("Attach file").set_input_files(
        files=[{"name": "mine.png", "mimeType": "image/png", "buffer": png(700, 500, (90, 90, 90))}]
    )
    page.get_by_role("button", name="Send").click()
    wait_for(page, lambda: len(held) >= 1)
    for route in held:
        route.continue_()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.inline-image')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
        " && document.querySelectorAll('img.inline-image').length === 4"
    )
    page.evaluate(TWO_FRAMES)
    page.wait_for_function(AT_BOTTOM, timeout=3000)
    # the lightbox: click to enlarge, arrows between the images, download, Escape closes
    page.get_by_role("button", name="View shot-1.png").click()
    viewer = page.get_by_role("dialog", name=re.compile("^Image 2 of 4: shot-1.png"))
    expect(viewer).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("dialog", name=re.compile("^Image 3 of 4: shot-2.png"))).to_be_visible()
    page.get_by_role("button", name="Previous image").click()
    expect(viewer).to_be_visible()
    download = page.get_by_role("link", name="Download shot-1.png")
    assert (download.get_attribute("href") or "").startswith("/api/v1/files/")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    bob.close()


def test_presence_of_a_new_contact_without_reload(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, team = site
    team.user("quinn", "Quinn Newcomer")
    quinn = Visitor(browser, server).sign_in("quinn")  # online, sharing nothing with Amy yet
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    page.get_by_role("button", name="New direct message").click()
    dialog = page.get_by_role("dialog", name="New direct message")
    dialog.get_by_label("Find people").fill("quinn")
    dialog.get_by_text("Quinn Newcomer").click()
    dialog.get_by_role("button", name="Open conversation").click()
    nav = page.get_by_role("navigation", name="Conversations")
    expect(nav.get_by_role("link", name=re.compile(r"^Quinn Newcomer.*\(online\)"))).to_be_visible()
    quinn.close()
    amy.close()


def test_keyboard_only_edit_and_message_actions(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    amy.open("den")
    amy.send("first draft")
    mine = amy.messages().filter(has_text="first draft")
    expect(mine).to_have_count(1)
    expect(mine.locator(".state")).to_have_count(0)
    composer = page.get_by_role("textbox", name="Message")
    # Up edits the last message, and the keyboard goes with it; Escape cancels
    composer.press("ArrowUp")
    editor = page.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    page.keyboard.type(" typed into the editor")
    page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(composer).to_be_focused()
    expect(composer).to_have_value("")
    expect(mine.locator(".body")).to_have_text("first draft")
    composer.press("ArrowUp")
    page.keyboard.type(", edited")
    page.keyboard.press("Enter")
    expect(mine.locator(".body")).to_contain_text("first draft, edited")
    # one focusable actions menu per message, reached from the composer with Shift+Tab
    for _ in range(4):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
            "Message actions"
        ):
            break
    actions = mine.get_by_role("button", name="Message actions")
    expect(actions).to_be_focused()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Message actions")
    expect(menu.get_by_role("menuitem", name="Add reaction")).to_be_focused()
    for _ in range(6):
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Pin":
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(mine).to_contain_text("Pinned")
    expect(menu).to_have_count(0)
    actions.focus()
    page.keyboard.press("Enter")
    expect(menu.get_by_role("menuitem", name="Add reaction")).to_be_focused()
    page.keyboard.press("Enter")  # Add reaction: the picker opens with its search focused
    picker = page.get_by_role("dialog", name="Choose a reaction")
    expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    page.keyboard.type("tada")
    page.keyboard.press("Enter")
    expect(mine.get_by_role("button", name=re.compile("^🎉 1"))).to_be_visible()
    expect(picker).to_have_count(0)
    amy.close()


def test_reaction_picker_inside_the_viewport_and_dismissed(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    _, bob_token = crew["bob"]
    post(server, bob_token, crew["den"]["id"], "the very last message, at the bottom")
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    amy.open("den")
    last = amy.messages().last
    expect(last).to_contain_text("the very last message")
    last.hover()
    last.get_by_role("button", name="Add reaction").click()
    picker = page.get_by_role("dialog", name="Choose a reaction")
    expect(picker).to_be_visible()
    box = picker.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= 800, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
    page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    last.hover()
    last.get_by_role("button", name="Add reaction").click()
    expect(picker).to_be_visible()
    page.get_by_role("heading", name="den").click()  # a click elsewhere closes it
    expect(picker).to_have_count(0)
    # the full set is searchable by keyword, and what was used comes first next time
    last.hover()
    last.get_by_role("button", name="Add reaction").click()
    picker.get_by_role("searchbox", name="Search emoji").fill("rocket")
    picker.get_by_role("button", name="React with 🚀").click()
    expect(last.get_by_role("button", name=re.compile("^🚀 1"))).to_be_visible()
    last.hover()
    last.get_by_role("button", name="Add reaction").click()
    recent = picker.get_by_role("group", name="Recently used")
    expect(recent.get_by_role("button").first).to_have_accessible_name("React with 🚀")
    page.keyboard.press("Escape")
    amy.close()


def test_new_messages_line_marks_only_what_arrived_while_away(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    _, bob_token = crew["bob"]
    den = crew["den"]["id"]
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    amy.open("den")
    line = page.get_by_role("separator").filter(has_text="New messages")
    expect(line).to_have_count(0)
    post(server, bob_token, den, "said while Amy reads at the bottom")
    expect(amy.messages().filter(has_text="said while Amy reads")).to_have_count(1)
    page.evaluate(TWO_FRAMES)
    expect(line).to_have_count(0)
    # Amy switches to another tab: what arrives now is new to her
    page.evaluate(
        "() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    post(server, bob_token, den, "said while Amy is away")
    expect(amy.messages().filter(has_text="said while Amy is away")).to_have_count(1)
    page.evaluate(
        "() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    expect(line).to_have_count(1)
    after = page.locator(".divider + article")
    expect(after).to_contain_text("said while Amy is away")
    amy.close()


def test_typing_fast_after_a_mention_suggestion(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    amy.open("den")
    composer = page.get_by_role("textbox", name="Message")
    composer.click()
    page.keyboard.type("hey @bo")
    expect(page.get_by_role("listbox", name="Mention suggestions")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.type("are you around? the build is green")
    expect(composer).to_have_value("hey @bob are you around? the build is green")
    # emoji: `:` completes, and shortcodes show as emoji in the flow
    composer.fill("")
    page.keyboard.type("ship it :tad")
    expect(page.get_by_role("listbox", name="Emoji suggestions")).to_contain_text("🎉")
    page.keyboard.press("Enter")
    page.keyboard.type("now")
    expect(composer).to_have_value("ship it 🎉 now")
    composer.fill("shortcode :rocket: text")
    composer.press("Enter")
    expect(amy.messages().filter(has_text="shortcode 🚀 text")).to_have_count(1)
    amy.close()


def test_thread_replies_stay_in_the_thread(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    _, bob_token = crew["bob"]
    post(server, bob_token, crew["den"]["id"], "who reviews the release notes?")
    amy = Visitor(browser, server).sign_in("amy")
    bob = Visitor(browser, server).sign_in("bob")
    amy.open("den")
    bob.open("den")
    root = amy.messages().filter(has_text="who reviews the release notes?")
    root.hover()
    root.get_by_role("button", name="Reply in thread").click()
    panel = amy.page.get_by_role("complementary", name="Thread")
    reply = panel.get_by_role("textbox", name="Reply")
    reply.fill("I will, after lunch")
    reply.press("Enter")
    expect(panel.get_by_role("log", name="Replies")).to_contain_text("I will, after lunch")
    expect(amy.messages().filter(has_text="I will, after lunch")).to_have_count(0)
    bob_root = bob.messages().filter(has_text="who reviews the release notes?")
    expect(bob_root.get_by_role("button", name="1 reply")).to_be_visible()
    expect(bob.messages().filter(has_text="I will, after lunch")).to_have_count(0)
    # "also send to the conversation" puts the reply in the flow as well
    panel.get_by_label("Also send to the conversation").check()
    reply.fill("done, looks good")
    reply.press("Enter")
    expect(bob.messages().filter(has_text="done, looks good")).to_have_count(1)
    expect(bob_root.get_by_role("button", name="2 replies")).to_be_visible()
    amy.close()
    bob.close()


def test_manage_a_channel_and_see_joins(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, team = site
    team.user("rita", "Rita Reviewer")
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    amy.open("den")
    page.get_by_role("button", name="Details").click()
    dialog = page.get_by_role("dialog", name="About den")
    dialog.get_by_label("Topic").fill("Where the team hangs out")
    dialog.get_by_role("button", name="Save changes").click()
    expect(page.locator(".bar .topic")).to_have_text("Where the team hangs out")
    dialog.get_by_label("Find people").fill("rita")
    dialog.get_by_text("Rita Reviewer").click()
    dialog.get_by_role("button", name="Add to den").click()
    members = dialog.get_by_role("list", name="Members")
    expect(members).to_contain_text("Rita Reviewer")
    expect(page.locator(".notice").filter(has_text="Rita Reviewer joined")).to_have_count(1)
    dialog.get_by_role("button", name="Remove Rita Reviewer").click()
    expect(members).not_to_contain_text("Rita Reviewer")
    expect(page.locator(".notice").filter(has_text="Rita Reviewer left")).to_have_count(1)
    dialog.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("This conversation is archived.")).to_be_visible()
    dialog.get_by_role("button", name="Unarchive").click()
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    amy.close()


def test_mentions_view_and_search_filters(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    _, bob_token = crew["bob"]
    post(server, bob_token, crew["den"]["id"], "@amy the kumquat order shipped")
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    page.get_by_role("button", name="Mentions").first.click()
    expect(page.get_by_role("list", name="Mentions")).to_contain_text("kumquat order shipped")
    search = page.get_by_role("searchbox", name="Search messages")
    search.fill("from:@bob in:#den kumquat")
    search.press("Enter")
    results = page.get_by_role("list", name="Search results")
    expect(results).to_contain_text("kumquat order shipped")
    expect(results.locator("mark.match")).to_have_text(["kumquat"])
    search.fill("from:@amy kumquat")
    search.press("Enter")
    expect(page.get_by_text("No messages match.")).to_be_visible()
    amy.close()


def test_phone_width(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    _, bob_token = crew["bob"]
    for i in range(12):
        post(server, bob_token, crew["den"]["id"], f"a line for the phone, number {i}")
    amy = Visitor(browser, server)
    amy.context.close()
    amy.context = browser.new_context(viewport={"width": 390, "height": 800}, has_touch=True)
    amy.context.on("request", lambda request: amy.requests.append(request.url))
    amy.page = amy.context.new_page()
    amy.page.on("pageerror", lambda error: amy.errors.append(str(error)))
    amy.page.on("dialog", lambda dialog: dialog.accept())
    amy.sign_in("amy")
    page = amy.page
    # search is reachable from the list screen
    expect(page.get_by_role("searchbox", name="Search messages")).to_be_visible()
    amy.open("den")
    last = amy.messages().last
    expect(last.get_by_role("button", name="Add reaction")).to_be_hidden()
    last.locator(".body").tap()
    expect(last.get_by_role("button", name="Add reaction")).to_be_visible()
    expect(amy.messages().first.get_by_role("button", name="Add reaction")).to_be_hidden()
    last.get_by_role("button", name="Add reaction").tap()
    picker = page.get_by_role("dialog", name="Choose a reaction")
    expect(picker).to_be_visible()
    box = picker.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.keyboard.press("Escape")
    page.wait_for_function(AT_BOTTOM, timeout=3000)
    amy.close()


def test_offline_sends_wait_and_go_out_on_reconnect(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    _, bob_token = crew["bob"]
    den = crew["den"]["id"]
    amy = Visitor(browser, server).sign_in("amy")
    page = amy.page
    amy.open("den")
    port = server.port
    assert server.stop() == 0
    banner = page.get_by_role("status").filter(has_text="Connection lost")
    expect(banner).to_be_visible()
    amy.send("written while the server was down")
    queued = amy.messages().filter(has_text="written while the server was down")
    expect(queued).to_contain_text("Waiting for the connection")
    expect(banner).to_contain_text("1 message waits")
    server.start(port=port)
    started = time.monotonic()
    expect(queued.locator(".state")).to_have_count(0, timeout=15_000)  # confirmed
    took = time.monotonic() - started
    expect(banner).to_have_count(0)
    with server.client(bob_token) as http:
        history = http.get(f"/api/v1/conversations/{den}/messages?limit=20").json()["messages"]
    bodies = [m["body"] for m in history]
    assert bodies.count("written while the server was down") == 1
    assert took < 8, f"reconnect and send took {took:.1f} s"
    amy.close()
