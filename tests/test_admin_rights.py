"""Admin rights are the services' rule, not only the routes' (issue 15, item 12).

Each admin operation is called on the services directly, as a route that forgot its check
would: a member's principal is refused, and so is no principal at all (the command line
passes the explicit `SYSTEM` principal instead).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chatd.clock import ManualClock
from chatd.config import load
from chatd.errors import Forbidden
from chatd.services.container import Services
from chatd.services.principal import SYSTEM, Principal

from .conftest import PASSWORD


def admin_operations(s: Services, target: str) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """Every admin operation of the services, as a function of the caller's principal."""
    return {
        "users.create": lambda p: s.users.create(p, "mallory2", PASSWORD),
        "users.update": lambda p: s.users.update(p, target, role="admin"),
        "users.admin_set_password": lambda p: s.users.admin_set_password(p, target, PASSWORD),
        "users.set_password": lambda p: s.users.set_password(p, "victim", PASSWORD),
        "users.list_all": lambda p: s.users.list_all(p),
        "users.admin_directory": lambda p: s.users.admin_directory(p, "", 50),
        "users.create_invite": lambda p: s.users.create_invite(p, 1, 3600),
        "users.list_invites": lambda p: s.users.list_invites(p),
        "users.revoke_invite": lambda p: s.users.revoke_invite(p, "nope"),
        "bots.create": lambda p: s.bots.create(p, "evilbot"),
        "bots.list": lambda p: s.bots.list(p),
        "bots.replace_token": lambda p: s.bots.replace_token(p, target),
        "commands.create": lambda p: s.commands.create(p, "evil", "https://example.com/x"),
        "commands.delete": lambda p: s.commands.delete(p, "nope"),
        "outgoing.create": lambda p: s.outgoing.create(p, "evil", "https://example.com/x"),
        "outgoing.list": lambda p: s.outgoing.list(p),
        "outgoing.delete": lambda p: s.outgoing.delete(p, "nope"),
        "notify.email.get_many": lambda p: s.notify.email.get_many(p, [target]),
    }


def test_admin_operations_refuse_members_and_no_principal(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = load(None, {}, {"storage.data_dir": str(tmp_path)})
        services = await Services.start(config, ManualClock(), background=False)
        try:
            await services.users.create(SYSTEM, "admin", PASSWORD, role="admin")
            member = await services.users.create(SYSTEM, "mallory", PASSWORD)
            victim = await services.users.create(SYSTEM, "victim", PASSWORD)
            as_member = Principal(member, "session-of-mallory")
            operations = admin_operations(services, victim.id)
            for name, call in operations.items():
                for principal in (as_member, None):
                    with pytest.raises(Forbidden):
                        await call(principal)
                    assert name  # named in the failure's traceback
            after = {u.username: u for u in await services.users.list_all(SYSTEM)}
            assert set(after) == {"admin", "mallory", "victim"}
            assert after["victim"].role == "member"
            # the command line's principal passes, and records no account as the actor
            invite = await services.users.create_invite(SYSTEM, 1, 3600)
            assert invite.created_by is None
        finally:
            await services.stop()

    asyncio.run(scenario())
