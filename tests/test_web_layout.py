"""What a person sees in the web client, in Chromium (see test_web.py): a header that fits a
phone or a conversation beside a panel, quotes and mentions as chat people read them, and
faces beside the people in the sidebar and in lists of messages."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from .conftest import ChatdServer, Team, start_server
from .test_web import Browser, Visitor, browser, expect  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("web-layout"), auth_default_channels="")
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def room(site: tuple[ChatdServer, Team]) -> dict[str, Any]:
    """Uma and Vic in #yard, and a direct conversation between them; Vic has an avatar."""
    server, team = site
    _, uma_token = team.user("uma", "Uma Ulm")
    vic, vic_token = team.user("vic", "Vic Vale")
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 60, 60)).save(picture, "PNG")
    with server.client(vic_token) as http:
        answer = http.put(
            "/api/v1/users/me/avatar", files={"file": ("v.png", picture.getvalue(), "image/png")}
        )
        assert answer.status_code == 200, answer.text
    with server.client(uma_token) as http:
        yard = http.post(
            "/api/v1/conversations",
            json={"kind": "channel", "name": "yard", "members": [vic["id"]]},
        ).json()["conversation"]
        http.post("/api/v1/conversations", json={"kind": "direct", "members": [vic["id"]]})
    return {"uma": uma_token, "vic": vic_token, "yard": yard["id"]}


def post(server: ChatdServer, token: str, conversation_id: str, body: str) -> None:
    with server.client(token) as http:
        answer = http.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body})
        assert answer.status_code == 201, answer.text


def test_header_actions_fit_a_phone_and_a_panel(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    room: dict[str, Any],
) -> None:
    server, _ = site
    post(server, room["vic"], room["yard"], "a message to open a thread on")
    uma = Visitor(browser, server).sign_in("uma")
    page = uma.page
    uma.open("yard")
    title = page.locator(".bar .title")
    options = page.get_by_role("button", name="Conversation options")
    # wide: the actions are in the header itself
    expect(page.get_by_role("button", name="Details")).to_be_visible()
    expect(options).to_be_hidden()
    # a thread open beside it: the actions go behind one button and the title keeps its room
    message = uma.messages().first
    message.hover()
    message.get_by_role("button", name="Reply in thread").click()
    expect(page.get_by_role("complementary", name="Thread")).to_be_visible()
    expect(options).to_be_visible()
    expect(page.get_by_role("button", name="Details")).to_be_hidden()
    box = title.bounding_box()
    assert box is not None and box["width"] > 250, box
    options.click()
    menu = page.get_by_role("dialog", name="Conversation options")
    menu.get_by_role("button", name="Mute").click()
    expect(menu.get_by_role("button", name="Unmute")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    # a phone (the panel, which takes the whole screen there, closed): one header line, every
    # action reachable
    page.get_by_role("button", name="Close panel").click()
    page.set_viewport_size({"width": 390, "height": 780})
    expect(options).to_be_visible()
    bar = page.locator(".conversation > .bar").bounding_box()
    assert bar is not None and bar["height"] < 80, bar
    options.click()
    menu.get_by_role("button", name="Unmute").click()
    menu.get_by_role("button", name="Details").click()
    expect(menu).to_have_count(0)
    expect(page.get_by_role("dialog", name="About yard")).to_be_visible()
    uma.close()


def test_quotes_mentions_and_faces(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    room: dict[str, Any],
) -> None:
    server, _ = site
    post(server, room["vic"], room["yard"], "> the plan for friday\nlooks fine to me")
    post(server, room["vic"], room["yard"], "@uma and @vic: the lemonade stand opens at nine")
    uma = Visitor(browser, server).sign_in("uma")
    page = uma.page
    uma.open("yard")
    quoted = uma.messages().filter(has_text="the plan for friday")
    expect(quoted.locator("blockquote")).to_have_text("the plan for friday")
    expect(quoted.locator(".body > p")).to_have_text("looks fine to me")
    mention = uma.messages().filter(has_text="lemonade stand")
    expect(mention.locator("mark.mention:not(.other)")).to_have_text("@uma")
    expect(mention.locator("mark.mention.other")).to_have_text("@vic")
    # Vic's face: their picture in the flow, in the sidebar's direct message, in Mentions
    src = re.compile(r"^/api/v1/users/.+/avatar")
    expect(mention.locator("header img.avatar")).to_have_attribute("src", src)
    nav = page.get_by_role("navigation", name="Conversations")
    direct = nav.get_by_role("link", name=re.compile("^Vic Vale"))
    expect(direct.locator("img.avatar")).to_have_attribute("src", src)
    page.get_by_role("button", name="Mentions").first.click()
    found = page.get_by_role("list", name="Mentions")
    expect(found).to_contain_text("lemonade stand")
    expect(found.locator("img.avatar").first).to_have_attribute("src", src)
    uma.close()


def test_images_loading_late_on_a_phone_keep_the_bottom(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    room: dict[str, Any],
) -> None:
    server, _ = site
    with server.client(room["vic"]) as http:
        for i in range(10):
            post(server, room["vic"], room["yard"], f"a line before the pictures, {i}")
        for i, colour in enumerate([(30, 120, 200), (200, 120, 30)]):
            picture = io.BytesIO()
            Image.new("RGB", (900, 1200), colour).save(picture, "PNG")
            stored = http.post(
                "/api/v1/files", files={"file": (f"tall-{i}.png", picture.getvalue(), "image/png")}
            ).json()["file"]
            answer = http.post(
                f"/api/v1/conversations/{room['yard']}/messages",
                json={"body": f"picture {i}", "file_ids": [stored["id"]]},
            )
            assert answer.status_code == 201, answer.text
    phone = Visitor(browser, server)
    phone.context.close()
    phone.context = browser.new_context(viewport={"width": 390, "height": 780}, has_touch=True)
    phone.page = phone.context.new_page()
    phone.page.on("pageerror", lambda error: phone.errors.append(str(error)))
    page = phone.page
    held: list[Any] = []
    page.route("**/api/v1/files/**", lambda route: held.append(route))
    phone.sign_in("uma")
    phone.open("yard")
    page.wait_for_function("() => document.querySelectorAll('img.inline-image').length === 2")
    deadline = time.monotonic() + 10
    while len(held) < 2:
        assert time.monotonic() < deadline, "the images were not requested"
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.inline-image')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    page.wait_for_function(
        "() => { const el = document.querySelector('.history');"
        " return el.scrollHeight - el.scrollTop - el.clientHeight < 4; }",
        timeout=3000,
    )
    phone.close()
