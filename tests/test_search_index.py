"""Search indexing after the send: a search sees every committed message, edits and deletes
of messages not yet indexed leave the index right, and a start-up indexes what a crash left."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from chatd.clock import SystemClock, now_ms
from chatd.config import load
from chatd.ids import new_id
from chatd.models import Conversation, User
from chatd.services.container import Services
from chatd.services.messages import Draft
from chatd.store import conversations, users
from chatd.store import search as search_store


def make_people(conn: sqlite3.Connection) -> tuple[User, str]:
    now = now_ms(SystemClock())
    user = User(new_id(), "ada", "Ada", "member", True, now)
    users.insert(conn, user, "not-a-hash")
    room = Conversation(new_id(), "group", "room", "", now, user.id, False, 0, now, [user.id])
    conversations.insert(conn, room, None, None)
    return user, room.id


async def start(data_dir: Path) -> Services:
    config = load(None, {}, {"storage.data_dir": str(data_dir)})
    services = await Services.start(config, background=False)
    services.search.indexer.delay_s = 3600  # only an explicit catch-up indexes
    return services


def bodies(found: tuple[list, str | None]) -> list[str]:  # type: ignore[type-arg]
    return sorted(message.body for message in found[0])


def test_search_catches_up_and_edits_deletes_follow(tmp_path: Path) -> None:
    async def scenario() -> None:
        services = await start(tmp_path)
        user, room = await services.db.write(make_people)

        async def send(text: str) -> str:
            message, _ = await services.messages.send(user, room, Draft(text, None, None, None))
            return message.id

        async def find(q: str) -> list[str]:
            return bodies(await services.search.find(user, q, None, None, None, None))

        kept = await send("alpha kept")
        gone = await send("alpha gone")
        typo = await send("alpha zebrra")
        mark = await services.db.read(search_store.indexed_through)
        waiting = await services.db.read(lambda conn: search_store.after(conn, mark, 10))
        assert [body for _, body, _ in waiting] == ["alpha kept", "alpha gone", "alpha zebrra"]
        # an edit and a delete before the catch-up: it indexes the current text only
        await services.messages.edit(user, typo, "alpha zebra")
        await services.messages.delete(user, gone)
        assert await find("alpha") == ["alpha kept", "alpha zebra"]
        assert await find("zebrra") == []
        assert await find("gone") == []
        # once indexed, an edit and a delete change the index in their own transaction
        await services.messages.edit(user, kept, "alpha changed")
        assert await find("kept") == [] and await find("changed") == ["alpha changed"]
        await services.messages.delete(user, kept)
        assert await find("alpha") == ["alpha zebra"]
        await services.stop()

    asyncio.run(scenario())


def test_start_up_indexes_what_a_crash_left(tmp_path: Path) -> None:
    async def scenario() -> None:
        services = await start(tmp_path)
        user, room = await services.db.write(make_people)
        await services.messages.send(user, room, Draft("before the crash", None, None, None))

        # a crash after the commit, before the catch-up: drop the index, put the mark back
        def forget(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO search_trigram (search_trigram) VALUES ('delete-all')")
            search_store.set_indexed_through(conn, 0)

        await services.db.write(forget)
        services.search.indexer.dirty = False  # so that stopping does not index it again
        await services.stop()

        again = await start(tmp_path)
        assert await again.db.read(search_store.indexed_through) > 0
        again.search.indexer.dirty = False
        found = await again.search.find(user, "crash", None, None, None, None)
        assert bodies(found) == ["before the crash"]
        await again.stop()

    asyncio.run(scenario())
