"""Search indexing after the send: a search sees every committed message, edits and deletes
of messages not yet indexed leave the index right, and a start-up indexes what a crash left."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from chatd.bench import seed
from chatd.clock import SystemClock, now_ms
from chatd.config import load
from chatd.db import migrate
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

        async def indexed(word: str) -> int:
            def look(conn: sqlite3.Connection) -> int:
                query = "SELECT count(*) FROM search.search_trigram WHERE search_trigram MATCH ?"
                return int(conn.execute(query, (f'"{word}"',)).fetchone()[0])

            return await services.db.read(look)

        await services.search.indexer.catch_up()  # the start-up run
        kept = await send("alpha kept")
        gone = await send("alpha gone")
        typo = await send("alpha zebrra")
        mark, _ = await services.db.read(search_store.marks)
        waiting = await services.db.read(lambda conn: search_store.after(conn, mark, 10))
        assert [body for _, body, _ in waiting] == ["alpha kept", "alpha gone", "alpha zebrra"]
        # an edit and a delete before the catch-up: it indexes the current text only
        await services.messages.edit(user, typo, "alpha zebra")
        await services.messages.delete(user, gone)
        assert await find("alpha") == ["alpha kept", "alpha zebra"]
        assert await find("zebrra") == [] and await indexed("zebrra") == 0
        assert await find("gone") == [] and await indexed("gone") == 0
        # once indexed, edits and deletes are queued and the next catch-up applies them:
        # twice edited between two runs, the index holds the last text and only that
        await services.messages.edit(user, kept, "alpha changed")
        await services.messages.edit(user, kept, "alpha final")
        assert await find("kept") == [] and await find("final") == ["alpha final"]
        assert (await indexed("kept"), await indexed("changed"), await indexed("final")) == (
            0,
            0,
            1,
        )
        await services.messages.delete(user, kept)
        assert await find("alpha") == ["alpha zebra"]
        assert await indexed("final") == 0 and await indexed("alpha") == 1
        # the queue is emptied once the index has taken it
        left = await services.db.read(
            lambda conn: conn.execute("SELECT count(*) FROM search_changes").fetchone()[0]
        )
        assert left == 0
        await services.stop()

    asyncio.run(scenario())


def test_start_up_indexes_what_a_crash_left(tmp_path: Path) -> None:
    async def scenario() -> None:
        services = await start(tmp_path)
        user, room = await services.db.write(make_people)
        await services.messages.send(user, room, Draft("before the crash", None, None, None))
        services.search.indexer.dirty = False  # so that stopping does not index it
        await services.stop()

        # the index file lost its last commits: its marks are back at nothing
        with contextlib.closing(sqlite3.connect(tmp_path / "search.db")) as index:
            index.execute("UPDATE marks SET value = 0 WHERE key = 'indexed_through'")
            index.commit()

        again = await start(tmp_path)
        found = await again.search.find(user, "crash", None, None, None, None)
        assert bodies(found) == ["before the crash"]
        assert (await again.db.read(search_store.marks))[0] > 0
        await again.stop()

    asyncio.run(scenario())


def test_an_index_file_of_another_database_is_rebuilt(tmp_path: Path) -> None:
    """A data directory restored from a backup (or given another's search.db) must not
    trust marks that describe other messages: its own would never be indexed."""

    async def scenario() -> None:
        first, second = tmp_path / "first", tmp_path / "second"
        for data_dir, words in ((first, ["one", "two", "three"]), (second, ["bravo"])):
            services = await start(data_dir)
            user, room = await services.db.write(make_people)
            for word in words:
                await services.messages.send(user, room, Draft(word, None, None, None))
            await services.search.indexer.catch_up()
            await services.stop()
        for suffix in ("", "-wal", "-shm"):
            (second / f"search.db{suffix}").unlink(missing_ok=True)
        shutil.copy(first / "search.db", second / "search.db")

        again = await start(second)
        found = await again.search.find(user, "bravo", None, None, None, None)
        assert bodies(found) == ["bravo"]
        await again.stop()

    asyncio.run(scenario())


def test_sends_are_stored_while_the_index_file_is_locked(tmp_path: Path) -> None:
    """The index has a file and writer of its own: however long it holds its lock (FTS5
    merges its segments inside a commit), a send commits; searches wait for the index."""

    async def scenario() -> None:
        services = await start(tmp_path)
        user, room = await services.db.write(make_people)
        await services.search.indexer.catch_up()
        merging = sqlite3.connect(tmp_path / "search.db", isolation_level=None)
        merging.execute("BEGIN IMMEDIATE")  # a long merge, as far as everyone else can tell
        try:
            for n in range(20):
                draft = Draft(f"during the merge {n}", None, None, None)
                await asyncio.wait_for(services.messages.send(user, room, draft), 10)
            searching = asyncio.ensure_future(
                services.search.find(user, "merge", None, None, None, None)
            )
            await asyncio.sleep(0.3)
            assert not searching.done()  # it waits for the index to take the sends
        finally:
            merging.execute("COMMIT")
            merging.close()
        found = await asyncio.wait_for(searching, 30)
        assert len(found[0]) == 20
        await services.stop()

    asyncio.run(scenario())


def test_an_upgrade_moves_the_index_to_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database of schema 8 kept its index in its own FTS5 tables: migration 9 drops them,
    and the first start builds search.db from every message, old and not yet indexed."""
    real = migrate.migrations()
    conn = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    monkeypatch.setattr(migrate, "migrations", lambda: real[:8])
    migrate.migrate(conn, tmp_path)
    conn.execute("BEGIN")
    user, room = make_people(conn)
    for text in ("indexed before the upgrade", "waiting at the upgrade"):
        seed._add_message(conn, room, user.id, text, now_ms(SystemClock()))
    conn.execute("INSERT INTO search_trigram (rowid, body) SELECT rowid, body FROM messages")
    conn.execute("UPDATE meta SET value = 1 WHERE key = 'search_indexed_through'")
    conn.execute("COMMIT")
    conn.close()
    monkeypatch.setattr(migrate, "migrations", lambda: real)

    async def scenario() -> None:
        services = await start(tmp_path)
        found = await services.search.find(user, "the upgrade", None, None, None, None)
        assert bodies(found) == ["indexed before the upgrade", "waiting at the upgrade"]
        await services.stop()

    asyncio.run(scenario())
    with contextlib.closing(sqlite3.connect(tmp_path / "chatd.db")) as after:
        tables = {row[0] for row in after.execute("SELECT name FROM sqlite_master")}
    assert "search_trigram" not in tables and "search_changes" in tables
