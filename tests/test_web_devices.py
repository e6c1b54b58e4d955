"""One person on two devices, in Chromium (see test_web.py): what one page changes of the
person's own settings shows on the other at once, and what other people change does not
overwrite it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from .conftest import ChatdServer, Team, start_server
from .test_web import Browser, Visitor, browser, expect  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("web-devices"), auth_default_channels="")
    yield srv, Team(srv)
    srv.stop()


def test_mute_and_notify_from_another_device_show(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
) -> None:
    server, team = site
    _, lea_token = team.user("lea", "Lea Laptop")
    max_, _ = team.user("max", "Max Other")
    with server.client(lea_token) as http:
        made = http.post(
            "/api/v1/conversations",
            json={"kind": "channel", "name": "ops", "members": [max_["id"]]},
        )
        cid = made.json()["conversation"]["id"]
    laptop = Visitor(browser, server).sign_in("lea")
    phone = Visitor(browser, server).sign_in("lea")
    laptop.open("ops")
    phone.open("ops")
    entry = phone.page.get_by_role("navigation", name="Conversations").get_by_role(
        "link", name=re.compile("^ops")
    )
    expect(entry).not_to_contain_text("(muted)")

    laptop.page.get_by_role("button", name="Mute").click()
    expect(entry).to_contain_text("(muted)")
    expect(phone.page.get_by_role("button", name="Unmute")).to_be_visible()
    laptop.page.get_by_role("combobox", name="Notifications").select_option("none")
    expect(phone.page.get_by_role("combobox", name="Notifications")).to_have_value("none")

    # someone else's change of the channel reaches everyone as a neutral view: it must not
    # take Lea's own settings back to the defaults
    with server.client(team.admin_token) as http:
        changed = http.patch(f"/api/v1/conversations/{cid}", json={"topic": "on call"})
        assert changed.status_code == 200, changed.text
    expect(phone.page.locator(".topic")).to_have_text("on call")
    expect(laptop.page.locator(".topic")).to_have_text("on call")
    expect(entry).to_contain_text("(muted)")
    expect(phone.page.get_by_role("combobox", name="Notifications")).to_have_value("none")
    expect(laptop.page.get_by_role("button", name="Unmute")).to_be_visible()

    phone.page.get_by_role("button", name="Unmute").click()
    expect(laptop.page.get_by_role("button", name="Mute")).to_be_visible()
    laptop.close()
    phone.close()
