"""Sessions expire a while after their last use: their tokens stop working, they leave the
caller's list, and the pruner deletes them (on a manual clock: no sleeping)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatd.clock import ManualClock
from chatd.config import load
from chatd.errors import Unauthorized
from chatd.services.accounts import ClientInfo
from chatd.services.container import Services

from .conftest import backend_flags

DAY_S = 86_400
PASSWORD = "a-long-enough-password"


def test_expired_sessions_stop_working_and_are_pruned(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        flags = {"storage.data_dir": str(tmp_path), "auth.session_ttl_days": 2}
        config = load(None, {}, {**flags, **backend_flags(request, backend)})
        services = await Services.start(config, clock, background=False)
        accounts = services.accounts
        try:
            first = await accounts.setup(accounts.setup_token, "ada", PASSWORD, "", ClientInfo())
            kept = await accounts.login("ada", PASSWORD, ClientInfo())
            clock.advance(1.5 * DAY_S)
            principal = await accounts.authenticate(kept.token)  # a use keeps it alive
            assert await accounts.prune_sessions() == 0
            clock.advance(1.0 * DAY_S)  # `first` was last used 2.5 days ago
            listed = await accounts.list_sessions(principal)
            assert [s.id for s in listed] == [kept.session.id]
            with pytest.raises(Unauthorized):
                await accounts.authenticate(first.token)
            assert await accounts.prune_sessions() == 1
            assert await accounts.prune_sessions() == 0
            assert (await accounts.authenticate(kept.token)).session_id == kept.session.id
            clock.advance(2.1 * DAY_S)  # now `kept` has gone unused too long
            assert await accounts.prune_sessions() == 1
            with pytest.raises(Unauthorized):
                await accounts.authenticate(kept.token)
        finally:
            await services.stop()

    asyncio.run(scenario())
