"""The PostgreSQL backend with several writers: what one SQLite process never faces.

Two `Services` on one database stand for two nodes (each has its own writer connection and
readers, as two processes would); the contract tests run on PostgreSQL through the
parametrized `server` fixture, these cover the rest: migrations racing, seqs and client_ids
across writers, a real deadlock, jobs that run once, and PostgreSQL going away and back.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from chatd.cli import main
from chatd.clock import SystemClock, now_ms
from chatd.config import ConfigError, load
from chatd.db import migrate, pgmigrate
from chatd.db.migrate import SchemaError
from chatd.db.pgconn import PgConnection
from chatd.db.postgres import PostgresDatabase
from chatd.errors import Conflict
from chatd.ids import new_id
from chatd.models import Conversation, User
from chatd.services.container import Services
from chatd.services.messages import Draft
from chatd.store import conversations, users

from .conftest import ChatdServer, Team, start_server
from .pgcluster import PostgresCluster

BACKENDS = ("postgres",)


def node_config(url: str, data_dir: Path) -> Any:
    return load(
        None,
        {},
        {
            "storage.data_dir": str(data_dir),
            "storage.backend": "postgres",
            "storage.postgres_url": url,
        },
    )


def make_room(conn: Any) -> tuple[User, User, str]:
    now = now_ms(SystemClock())
    ada = User(new_id(), f"ada{new_id()[:6].lower()}", "Ada", "member", True, now)
    bob = User(new_id(), f"bob{new_id()[:6].lower()}", "Bob", "member", True, now)
    users.insert(conn, ada, "not-a-hash")
    users.insert(conn, bob, "not-a-hash")
    room = Conversation(new_id(), "group", "room", "", now, ada.id, False, 0, now, [ada.id, bob.id])
    conversations.insert(conn, room, None, None)
    return ada, bob, room.id


def test_migration_folders_match() -> None:
    """Every SQLite migration has its PostgreSQL twin under the same number."""
    sqlite_side = [name[:4] for _, name, _ in migrate.migrations()]
    pg_side = [name[:4] for _, name, _ in migrate.migrations(pgmigrate.FOLDER)]
    assert sqlite_side == pg_side


# what one engine has and the other does differently: SQLite's queue for its search index
# file (and the AUTOINCREMENT bookkeeping it brings) against PostgreSQL's expression indexes
# for search, PRAGMA user_version against a version table
ENGINE_OWN = re.compile(r"^(search_changes|sqlite_sequence|messages_search_\w+|schema_version)$")


def sqlite_schema(conn: sqlite3.Connection) -> dict[str, Any]:
    tables = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not ENGINE_OWN.match(row[0])
    ]
    found: dict[str, Any] = {}
    for table in tables:
        info = conn.execute(f"PRAGMA table_info('{table}')").fetchall()
        keys: set[tuple[bool, tuple[str, ...]]] = set()
        primary = tuple(r[1] for r in sorted(info, key=lambda r: r[5]) if r[5])
        if primary:
            keys.add((True, primary))
        for _, name, unique, *_ in conn.execute(f"PRAGMA index_list('{table}')"):
            columns = tuple(r[2] for r in conn.execute(f"PRAGMA index_info('{name}')"))
            keys.add((bool(unique), columns))
        # a primary key column is NOT NULL on PostgreSQL; SQLite, for old times' sake,
        # does not say so (and a TEXT key would take a NULL): compare what chatd relies on
        found[table] = ({r[1]: (bool(r[3] or r[5]), r[4] is not None) for r in info}, keys)
    return found


def postgres_schema(url: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with psycopg.connect(url) as conn:
        for table, column, nullable, default in conn.execute(
            "SELECT table_name, column_name, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public'"
        ):
            if not ENGINE_OWN.match(table):
                columns = found.setdefault(table, ({}, set()))[0]
                columns[column] = (nullable == "NO", default is not None)
        for table, index, unique, columns in conn.execute(
            "SELECT t.relname, i.relname, x.indisunique, "
            "array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(n, o) "
            "      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o) "
            "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace s ON s.oid = t.relnamespace "
            "WHERE s.nspname = 'public'"
        ):
            if not ENGINE_OWN.match(table) and not ENGINE_OWN.match(index):
                found[table][1].add((unique, tuple(columns)))
    return found


def test_migrated_schemas_are_twins(postgres: PostgresCluster, tmp_path: Path) -> None:
    """Both folders migrated to the end give the same tables, columns (NOT NULL and
    defaults alike), primary keys, unique constraints and indexes: a migration's twin that
    forgets an index or a constraint shows here, not as a race or a slow query on one engine."""
    with contextlib.closing(sqlite3.connect(tmp_path / "chatd.db")) as conn:
        migrate.migrate(conn, tmp_path)
        embedded = sqlite_schema(conn)
    url = postgres.new_database()
    pgmigrate.migrate(url)
    shared = postgres_schema(url)
    assert sorted(embedded) == sorted(shared)
    for table in embedded:
        assert embedded[table][0] == shared[table][0], table
        assert embedded[table][1] == shared[table][1], table


def test_nodes_starting_together_migrate_once(postgres: PostgresCluster) -> None:
    url = postgres.new_database()
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(pgmigrate.migrate(url))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    latest = len(migrate.migrations(pgmigrate.FOLDER))
    assert results == [latest] * 4
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(latest,)]
        conn.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(SchemaError, match="newer than this chatd"):
        pgmigrate.migrate(url)


def test_unreachable_database_is_a_clear_start_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"storage\.postgres_url") as raised:
        pgmigrate.migrate("postgresql://chatd:hunter2@127.0.0.1:1/chatd")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ConfigError, match=r"storage\.postgres_url"):
        load(None, {}, {"storage.backend": "postgres"})


@pytest.fixture
def two_nodes(postgres: PostgresCluster, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield postgres.new_database(), tmp_path


def test_two_writers_keep_seq_gapless_and_client_ids_idempotent(
    two_nodes: tuple[str, Path],
) -> None:
    url, data_dir = two_nodes

    async def scenario() -> None:
        a = await Services.start(node_config(url, data_dir), background=False)
        b = await Services.start(node_config(url, data_dir), background=False)
        try:
            ada, bob, room = await a.db.write(make_room)
            sends = []
            for i in range(60):
                sends.append(a.messages.send(ada, room, Draft(f"a{i}")))
                sends.append(b.messages.send(bob, room, Draft(f"b{i}")))
            results = await asyncio.gather(*sends)
            # the same client_id through both nodes at once, while a third party holds the
            # counter row: both checks run before either insert unless the sends queue on
            # the conversation's lock first (they must: one message, answered twice)
            for i in range(3):
                with psycopg.connect(url) as blocker:
                    blocker.execute("UPDATE conversations SET topic = topic WHERE id = %s", (room,))
                    pair = asyncio.gather(
                        a.messages.send(ada, room, Draft(f"dup{i}", f"cid-{i}")),
                        b.messages.send(ada, room, Draft(f"dup{i}", f"cid-{i}")),
                    )
                    await asyncio.sleep(0.3)
                    blocker.commit()
                done = await pair
                assert done[0][0].id == done[1][0].id and done[0][0].seq == done[1][0].seq
                assert sorted(made for _, made in done) == [False, True]
                results += done
            created = [m for m, made in results if made]
            assert len(created) == 123
            assert sorted(m.seq for m in created) == list(range(1, 124))
            history, more = await b.messages.history(ada, room, None, 0, 200)
            assert not more
            assert [m.seq for m in history] == list(range(1, 124))
            assert {m.id for m in history} == {m.id for m in created}
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(scenario())


def test_a_deadlock_between_writers_runs_the_batch_again(two_nodes: tuple[str, Path]) -> None:
    """Two writers lock two rows in opposite orders: PostgreSQL aborts one, which retries."""
    url, _ = two_nodes
    pgmigrate.migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('x', 0), ('y', 0)")
    both_hold_one = threading.Barrier(2, timeout=10)
    calls: list[str] = []

    def bump(conn: Any, first: str, second: str) -> None:
        calls.append(first)
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = ?", (first,))
        if len(calls) <= 2:  # the first attempts only: meet, then cross
            both_hold_one.wait()
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = ?", (second,))

    async def scenario() -> None:
        one, two = PostgresDatabase(url, Path(".")), PostgresDatabase(url, Path("."))
        await one.start()
        await two.start()
        try:
            await asyncio.gather(one.write(bump, "x", "y"), two.write(bump, "y", "x"))
        finally:
            await one.stop()
            await two.stop()

    asyncio.run(scenario())
    assert len(calls) == 3  # one of the two ran again
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT key, value FROM meta WHERE key IN ('x', 'y') ORDER BY key")
        assert rows.fetchall() == [("x", 2), ("y", 2)]


def test_a_lost_unique_race_answers_as_one_writer_does(two_nodes: tuple[str, Path]) -> None:
    """Another node inserts the same username between this writer's check and its insert:
    the insert waits for that commit and fails on the index; the operation runs again and its
    own check answers the 409 one writer gives. An operation that keeps violating (no check
    of its own) is a 409 too, never the unique violation's 500; the batch's others commit."""
    url, data_dir = two_nodes
    pgmigrate.migrate(url)
    now = now_ms(SystemClock())
    zed = User(new_id(), "zed", "Zed", "member", True, now)

    def register(conn: Any, user: User) -> str:
        if users.username_taken(conn, user.username):
            raise Conflict("that username is taken", fields={"username": "is taken"})
        users.insert(conn, user, "not-a-hash")
        return user.id

    def duplicate(conn: Any) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('taken', 1)")

    def mark(conn: Any) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('others', 1)")

    def waiting_on_a_lock(conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
        return row is not None and row[0] > 0

    async def scenario() -> None:
        db = PostgresDatabase(url, data_dir)
        await db.start()
        try:
            with psycopg.connect(url) as other, psycopg.connect(url, autocommit=True) as watch:
                users.insert(
                    PgConnection(other), User(new_id(), "zed", "Z", "member", True, now), "h"
                )
                racing = asyncio.ensure_future(db.write(register, zed))
                for _ in range(200):  # until this writer's insert waits on the other's
                    if waiting_on_a_lock(watch):
                        break
                    await asyncio.sleep(0.02)
                assert waiting_on_a_lock(watch)
                other.commit()
            with pytest.raises(Conflict) as lost:
                await racing
            assert lost.value.fields == {"username": "is taken"}

            with psycopg.connect(url) as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('taken', 0)")
            results = await asyncio.gather(
                db.write(duplicate), db.write(mark), return_exceptions=True
            )
            assert isinstance(results[0], Conflict) and results[1] is None
        finally:
            await db.stop()

    asyncio.run(scenario())
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'others'").fetchone() == (1,)


def test_jobs_run_on_one_node_at_a_time(two_nodes: tuple[str, Path]) -> None:
    url, _ = two_nodes

    async def scenario() -> None:
        one, two = PostgresDatabase(url, Path(".")), PostgresDatabase(url, Path("."))
        await one.start()
        await two.start()
        try:
            assert await one.leader("sweep")
            assert not await two.leader("sweep")
            assert await one.leader("sweep")  # still the holder
            assert await two.leader("prune")  # another job, another lock
            await one.stop()  # its session ends, and with it the lock
            assert await two.leader("sweep")
        finally:
            await two.stop()

    asyncio.run(scenario())


def test_backup_names_export_on_postgres(server: ChatdServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "b")], env=server.storage_env)
    assert result.exit_code != 0
    assert "chatd export" in result.output
    assert server.storage_env["CHATD_STORAGE_POSTGRES_URL"] not in result.output


def test_database_down_answers_503_and_recovers(tmp_path: Path) -> None:
    """A cluster of its own, stopped under a running node and started again."""
    cluster = PostgresCluster().start()
    srv = None
    try:
        url = cluster.new_database()
        srv = start_server(
            tmp_path, storage_backend="postgres", storage_postgres_url=url, auth_registration="open"
        )
        team = Team(srv)
        with srv.client(team.admin_token) as http:
            made = http.post("/api/v1/conversations", json={"kind": "group", "members": []})
            assert made.status_code == 201, made.text
            cid = made.json()["conversation"]["id"]
            path = f"/api/v1/conversations/{cid}/messages"
            assert http.post(path, json={"body": "before"}).status_code == 201
            assert http.get("/readyz").status_code == 200
            cluster.pg_ctl("stop")
            down = http.post(path, json={"body": "while down"})
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "unavailable"
            assert http.get(path).status_code == 503
            assert http.get("/readyz").status_code == 503
            assert http.get("/healthz").status_code == 200
            cluster.pg_ctl("start")
            assert wait_for(lambda: http.get("/readyz").status_code == 200)
            after = http.post(path, json={"body": "after"})
            assert after.status_code == 201, after.text
            bodies = [m["body"] for m in http.get(path).json()["messages"]]
            assert bodies == ["before", "after"]
        assert url not in srv.log and "CHATD_STORAGE_POSTGRES_URL" not in srv.log
    finally:
        if srv is not None:
            srv.stop()
        cluster.stop()


def test_every_connection_reconnects_after_an_outage(tmp_path: Path) -> None:
    """PostgreSQL restarts while a node idles: each pooled reader connection, and the
    writer's, is dead without knowing it. The first use of each after the restart must
    reconnect and answer, not fail once per connection with a 503 nobody caused."""
    cluster = PostgresCluster().start()
    try:
        url = cluster.new_database()
        pgmigrate.migrate(url)
        all_readers = threading.Barrier(4, timeout=10)

        def meet(conn: Any) -> str:
            conn.execute("SELECT count(*) FROM users").fetchone()
            all_readers.wait()  # four reads at once: one on every reader thread
            return threading.current_thread().name

        def probe(conn: Any, value: int) -> int:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('probe', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (value,),
            )
            return value

        async def scenario() -> None:
            db = PostgresDatabase(url, tmp_path, readers=4)
            await db.start()
            try:
                assert len(set(await asyncio.gather(*(db.read(meet) for _ in range(4))))) == 4
                assert await db.write(probe, 1) == 1
                await asyncio.to_thread(cluster.pg_ctl, "stop")
                await asyncio.to_thread(cluster.pg_ctl, "start")
                all_readers.reset()
                assert len(set(await asyncio.gather(*(db.read(meet) for _ in range(4))))) == 4
                assert await db.write(probe, 2) == 2
            finally:
                await db.stop()

        asyncio.run(scenario())
    finally:
        cluster.stop()


def wait_for(check: Any, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def test_sqlite_path_imports_no_cluster_dependency(tmp_path: Path) -> None:
    """psycopg is an extra (`chatd[cluster]`): the embedded default never loads it."""
    code = (
        "import asyncio, sys\n"
        "from chatd.config import load\n"
        "from chatd.services.container import Services\n"
        "async def main():\n"
        f"    s = await Services.start(load(None, {{}}, {{'storage.data_dir': {str(tmp_path)!r}}}),"
        " background=False)\n"
        "    await s.stop()\n"
        "asyncio.run(main())\n"
        "import chatd.app, chatd.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'nats')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
