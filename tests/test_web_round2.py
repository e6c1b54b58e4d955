"""The rest of the web client's second round (issue 19) in Chromium (see test_web.py): the
thread panel does what the flow does, a deactivated person is told so, a muted
conversation is quiet, and group messages notify on the desktop as direct ones do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, ChatdServer, Team, start_server
from .test_web import Browser, Visitor, browser, expect  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.browser

# Records desktop notifications instead of showing them (the page believes it is allowed).
FAKE_NOTIFICATION = """
window.__shown = [];
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__shown.push({ title, body: options.body }); }
};
"""
HIDE = (
    "() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
    " document.dispatchEvent(new Event('visibilitychange')); }"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("web-round2"), auth_default_channels="")
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def crew(site: tuple[ChatdServer, Team]) -> dict[str, Any]:
    """Ora and Pia in #desk and in a group with Quin."""
    server, team = site
    _, ora_token = team.user("ora", "Ora Oak")
    pia, pia_token = team.user("pia", "Pia Pine")
    quin, quin_token = team.user("quin", "Quin Quay")
    with server.client(ora_token) as http:
        desk = http.post(
            "/api/v1/conversations",
            json={"kind": "channel", "name": "desk", "members": [pia["id"]]},
        ).json()["conversation"]
        trio = http.post(
            "/api/v1/conversations",
            json={"kind": "group", "name": "trio", "members": [pia["id"], quin["id"]]},
        ).json()["conversation"]
    return {"ora": ora_token, "pia": pia_token, "quin": quin_token, "desk": desk, "trio": trio}


def post(server: ChatdServer, token: str, conversation_id: str, body: str, **extra: Any) -> Any:
    with server.client(token) as http:
        answer = http.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"body": body, **extra}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["message"]


def test_thread_panel_reacts_edits_and_attaches(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
    tmp_path: Path,
) -> None:
    server, _ = site
    root = post(server, crew["pia"], crew["desk"]["id"], "the printer is out of toner")
    post(server, crew["pia"], crew["desk"]["id"], "ordered more", reply_to=root["id"], thread=True)
    ora = Visitor(browser, server).sign_in("ora")
    page = ora.page
    ora.open("desk")
    flow_root = ora.messages().filter(has_text="the printer is out of toner")
    # the root shows the faces of who replied (their names said in its title)
    expect(flow_root.locator(".thread-summary .faces")).to_have_attribute("title", "Pia Pine")
    page.get_by_role("button", name="1 reply").click()
    panel = page.get_by_role("complementary", name="Thread")
    replies = panel.get_by_role("log", name="Replies")
    theirs = replies.get_by_role("article").filter(has_text="ordered more")
    expect(theirs).to_have_count(1)
    # a reaction from the panel, through the keyboard-reachable menu
    theirs.hover()
    theirs.get_by_role("button", name="Message actions").click()
    page.get_by_role("menuitem", name="Add reaction").click()
    picker = page.get_by_role("dialog", name="Choose a reaction")
    picker.get_by_role("searchbox", name="Search emoji").fill("thumbs")
    picker.get_by_role("button", name="React with 👍").first.click()
    expect(theirs.get_by_role("button", name=re.compile("^👍 1"))).to_be_visible()
    # a reply with a file, then edited in the panel
    note = tmp_path / "toner.txt"
    note.write_text("model TN-2420\n")
    panel.get_by_label("Attach file to reply").set_input_files(str(note))
    expect(panel.get_by_role("list", name="Attachments")).to_contain_text("toner.txt")
    box = panel.get_by_role("textbox", name="Reply")
    box.fill("this model")
    box.press("Enter")
    mine = replies.get_by_role("article").filter(has_text="this model")
    expect(mine.get_by_role("link", name=re.compile("toner.txt"))).to_be_visible()
    expect(mine.locator(".state")).to_have_count(0)
    mine.hover()
    mine.get_by_role("button", name="Message actions").click()
    page.get_by_role("menuitem", name="Edit").click()
    editor = panel.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    page.keyboard.type(", two boxes")
    page.keyboard.press("Enter")
    expect(mine.locator(".body")).to_contain_text("this model, two boxes")
    expect(mine.locator(".body")).to_contain_text("(edited)")
    expect(flow_root.get_by_role("button", name="2 replies")).to_be_visible()
    expect(flow_root.locator(".thread-summary .faces")).to_have_attribute(
        "title", re.compile("Pia Pine, Ora Oak|Ora Oak, Pia Pine")
    )
    # none of it went to the conversation's flow
    expect(ora.messages().filter(has_text="this model")).to_have_count(0)
    ora.close()


def test_deactivated_person_is_told_so(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
) -> None:
    server, team = site
    gone, _ = team.user("rex", "Rex Retired")
    with server.client(team.admin_token) as http:
        answer = http.patch(f"/api/v1/admin/users/{gone['id']}", json={"active": False})
        assert answer.status_code == 200, answer.text
    visitor = Visitor(browser, server)
    page = visitor.page
    page.goto(server.url + "/")
    page.get_by_label("Username").fill("rex")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("deactivated")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    visitor.close()


def test_muted_is_quiet_and_groups_notify(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, _ = site
    ora = Visitor(browser, server)
    ora.context.add_init_script(FAKE_NOTIFICATION)
    ora.sign_in("ora")
    page = ora.page
    nav = page.get_by_role("navigation", name="Conversations")
    desk = nav.get_by_role("link", name=re.compile("^desk"))
    ora.open("desk")
    page.get_by_role("button", name="Mute").click()
    expect(desk).to_contain_text("(muted)")
    ora.open("trio")
    # a muted conversation: counted, but a quiet dot instead of a red number
    post(server, crew["pia"], crew["desk"]["id"], "toner arrived")
    expect(desk).to_have_accessible_name(re.compile("1 unread"))
    expect(desk.locator(".quiet-dot")).to_have_count(1)
    expect(desk.locator(".badge")).to_have_count(0)
    # while the page is hidden, a group message notifies as a direct one does
    page.evaluate(HIDE)
    post(server, crew["quin"], crew["trio"]["id"], "lunch at noon?")
    page.wait_for_function("() => window.__shown.length > 0")
    shown = page.evaluate("() => window.__shown")
    assert shown == [{"title": "Quin Quay · trio", "body": "lunch at noon?"}], shown
    post(server, crew["pia"], crew["desk"]["id"], "muted: no notice for this one")
    post(server, crew["quin"], crew["trio"]["id"], "and a second group message")
    page.wait_for_function("() => window.__shown.length > 1")
    bodies = [item["body"] for item in page.evaluate("() => window.__shown")]
    assert bodies == ["lunch at noon?", "and a second group message"], bodies
    ora.close()


def test_emoji_picker_password_pins_and_long_press(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    crew: dict[str, Any],
) -> None:
    server, team = site
    _, sam_token = team.user("sam", "Sam Stone")
    with server.client(sam_token) as http:
        assert http.post(f"/api/v1/conversations/{crew['desk']['id']}/join").status_code == 200
    sam = Visitor(browser, server).sign_in("sam")
    page = sam.page
    sam.open("desk")
    # the composer's emoji picker inserts at the caret
    box = page.get_by_role("textbox", name="Message")
    box.fill("ship it ")
    page.get_by_role("button", name="Insert emoji").click()
    picker = page.get_by_role("dialog", name="Choose an emoji")
    picker.get_by_role("searchbox", name="Search emoji").fill("rocket")
    picker.get_by_role("button", name="Insert 🚀").click()
    expect(box).to_have_value("ship it 🚀")
    box.press("Enter")
    mine = sam.messages().filter(has_text="ship it 🚀")
    expect(mine.locator(".state")).to_have_count(0)
    # pins in a channel are its owner's or an admin's: Sam is not offered one; the owner's
    # pin shows live, its marker on one line beside the time
    mine.hover()
    mine.get_by_role("button", name="Message actions").click()
    menu = page.get_by_role("menu", name="Message actions")
    expect(menu.get_by_role("menuitem", name="Edit")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Pin")).to_have_count(0)
    page.keyboard.press("Escape")
    with server.client(sam_token) as http:
        found = http.get(f"/api/v1/conversations/{crew['desk']['id']}/messages?limit=5")
        sent = next(m for m in found.json()["messages"] if m["body"] == "ship it 🚀")
    with server.client(crew["ora"]) as http:  # the channel's owner
        assert http.put(f"/api/v1/messages/{sent['id']}/pin").status_code == 200
    marker = mine.locator(".pinned-mark")
    expect(marker).to_have_text(re.compile("Pinned"))
    height = marker.bounding_box()
    assert height is not None and height["height"] < 24, height
    # a new password from the settings dialog; this session stays signed in
    page.get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    dialog.get_by_label("Current password").fill(PASSWORD)
    dialog.get_by_label("New password", exact=True).fill("sam's brand new secret")
    dialog.get_by_label("Repeat new password").fill("sam's brand new secret")
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog.get_by_role("status")).to_contain_text("Password changed")
    dialog.get_by_role("button", name="Close").click()
    with server.client() as anyone:
        fresh = {"username": "sam", "password": "sam's brand new secret"}
        assert anyone.post("/api/v1/auth/login", json=fresh).status_code == 200
    sam.send("still signed in")
    expect(sam.messages().filter(has_text="still signed in").locator(".state")).to_have_count(0)
    # a phone (touch, as phones have): a long press on a message shows its actions
    phone = Visitor(browser, server)
    phone.context.close()
    phone.context = browser.new_context(viewport={"width": 390, "height": 780}, has_touch=True)
    phone.page = phone.context.new_page()
    phone.page.on("pageerror", lambda error: phone.errors.append(str(error)))
    phone.sign_in("sam", "sam's brand new secret")
    phone.open("desk")
    last = phone.messages().last
    expect(last).to_contain_text("still signed in")
    expect(last.get_by_role("button", name="Add reaction")).to_be_hidden()
    last.locator(".body").dispatch_event("touchstart")
    phone.page.wait_for_timeout(700)  # longer than a long press (500 ms)
    last.locator(".body").dispatch_event("touchend")
    expect(last.get_by_role("button", name="Add reaction")).to_be_visible()
    phone.close()
    sam.close()
