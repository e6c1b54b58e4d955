"""The web client's settings dialog and admin console, in Chromium (see test_web.py)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from PIL import Image

from .conftest import PASSWORD, ChatdServer, Team, start_server
from .test_web import Browser, Visitor, browser, expect  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("web-profile"), auth_default_channels="")
    yield srv, Team(srv)
    srv.stop()


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_settings_avatar_name_and_status(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
) -> None:
    server, team = site
    pat, pat_token = team.user("pat", "")
    me = Visitor(browser, server).sign_in("pat")
    page = me.page
    page.get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    face = dialog.get_by_role("img", name="Your avatar")
    expect(face).to_have_text("P")  # initials until there is an image
    dialog.get_by_label("Upload avatar").set_input_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": _png((500, 300))}]
    )
    expect(dialog.get_by_role("status")).to_have_text("Avatar updated.")
    image = dialog.locator("img.avatar")
    expect(image).to_have_attribute("alt", "Your avatar")
    assert (image.get_attribute("src") or "").startswith(f"/api/v1/users/{pat['id']}/avatar?v=")
    page.wait_for_function(
        "() => document.querySelector('dialog img.avatar')?.naturalWidth === 256"
    )
    with server.client(pat_token) as http:
        assert http.get("/api/v1/users/me").json()["user"]["avatar_url"]
    dialog.get_by_label("Upload avatar").set_input_files(
        files=[{"name": "x.svg", "mimeType": "image/svg+xml", "buffer": b"<svg></svg>"}]
    )
    expect(dialog.get_by_role("alert")).to_have_text("Choose a PNG, JPEG, GIF or WebP image.")
    dialog.get_by_label("Display name").fill("Pat Quinn")
    dialog.get_by_role("button", name="Save name").click()
    expect(dialog.get_by_role("status").filter(has_text="Display name saved.")).to_be_visible()
    dialog.get_by_role("radio", name="Do not disturb").check()
    dialog.get_by_role("button", name="Close").click()
    footer = page.locator(".sidebar .me")
    expect(footer).to_contain_text("Pat Quinn")
    expect(footer.locator(".dot.dnd")).to_be_visible()
    page.get_by_role("button", name="Settings").click()
    dialog.get_by_role("button", name="Remove avatar").click()
    expect(dialog.get_by_role("img", name="Your avatar")).to_have_text("PQ")
    me.close()


def test_admin_confirms_and_manages_invites_and_passwords(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
) -> None:
    server, team = site
    team.user("dora", "Dora")
    admin = Visitor(browser, server).sign_in("admin")
    page = admin.page
    page.get_by_role("button", name="Admin").click()
    dialog = page.get_by_role("dialog", name="Admin")
    # one's own row: no way to deactivate oneself; demoting the last admin is refused, visibly
    expect(dialog.get_by_role("button", name="Deactivate admin")).to_have_count(0)
    dialog.get_by_label("Role of admin").select_option("member")
    dialog.get_by_role("button", name="Yes, make member").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("last active admin")
    expect(alert).to_be_in_viewport()
    # deactivation asks first; Cancel changes nothing
    dialog.get_by_label("Search people").fill("dora")
    dialog.get_by_role("button", name="Deactivate dora").click()
    expect(dialog.get_by_role("group", name="Confirm")).to_contain_text("Deactivate dora?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog.get_by_role("button", name="Deactivate dora")).to_be_visible()
    dialog.get_by_role("button", name="Deactivate dora").click()
    dialog.get_by_role("button", name="Yes, deactivate").click()
    expect(dialog.get_by_role("button", name="Reactivate dora")).to_be_visible()
    with server.client() as anyone:
        answer = anyone.post("/api/v1/auth/login", json={"username": "dora", "password": PASSWORD})
        assert answer.json()["error"]["code"] == "account_disabled"
    dialog.get_by_role("button", name="Reactivate dora").click()
    # a new password, set by the admin
    dialog.get_by_role("button", name="Reset password of dora").click()
    dialog.get_by_label("New password for dora").fill("dora's new secret")
    dialog.get_by_role("button", name="Save new password").click()
    expect(dialog.get_by_role("status")).to_contain_text("Password of dora set")
    with server.client() as anyone:
        fresh = {"username": "dora", "password": "dora's new secret"}
        assert anyone.post("/api/v1/auth/login", json=fresh).status_code == 200
    # invites: chosen expiry and uses, listed, revoked after a confirmation
    dialog.get_by_label("Expires after").select_option(label="1 day")
    dialog.get_by_label("Uses (empty: no limit)").fill("3")
    dialog.get_by_role("button", name="Create invite link").click()
    link = dialog.get_by_role("textbox", name="Invite link")
    expect(link).to_have_value(re.compile(f"^{re.escape(server.url)}/register#invite=.+"))
    code = link.input_value().rsplit("=", 1)[1]
    table = dialog.get_by_role("table", name="Invites")
    expect(table).to_contain_text("0 of 3")
    dialog.get_by_role("button", name=f"Revoke invite {code[:8]}").click()
    dialog.get_by_role("button", name="Yes, revoke").click()
    expect(dialog.get_by_role("status")).to_contain_text("Invite revoked")
    expect(dialog).to_contain_text("No unexpired invites.")
    with server.client(team.admin_token) as http:
        assert http.get("/api/v1/admin/invites").json()["invites"] == []
    admin.close()
