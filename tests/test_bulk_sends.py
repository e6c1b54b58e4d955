"""A group-commit batch of sends: a few statements for all its plain sends, on both engines.

Sends submitted without yielding to the event loop all land in the writer's next batch
(`Database.submit` only queues them), so these tests know what one batch holds. The answers
must be those of the sends run one by one (`send_one`): every test but the statement counts
runs on both engines and expects the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chatd.clock import SystemClock, now_ms
from chatd.config import load
from chatd.db.pgconn import PgConnection
from chatd.errors import Conflict, NotFound, ValidationFailed
from chatd.ids import new_id
from chatd.models import Message, User
from chatd.services.container import Services
from chatd.services.messages import Draft
from chatd.store import users

from .pgcluster import PostgresCluster
from .test_postgres import make_room

Sent = tuple[Message, bool, Message | None]


@pytest.fixture(params=["sqlite", "postgres"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    overrides = {"storage.data_dir": str(tmp_path)}
    if request.param == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        overrides |= {"storage.backend": "postgres", "storage.postgres_url": cluster.new_database()}
    return load(None, {}, overrides)


def run(config: Any, scenario: Callable[[Services], Awaitable[None]]) -> None:
    async def main() -> None:
        services = await Services.start(config, background=False)
        try:
            await scenario(services)
        finally:
            await services.stop()

    asyncio.run(main())


async def one_batch(
    services: Services, sends: list[tuple[User, str, Draft]]
) -> tuple[list[Sent | BaseException], list[int]]:
    """Submit every send before the writer can take any (one batch); each answer, in
    submission order, and the order in which the answers came (the commit order)."""
    acks: list[int] = []
    futures = []
    for index, (user, room, draft) in enumerate(sends):
        future = services.messages.submit(user, room, draft)
        future.add_done_callback(lambda _, index=index: acks.append(index))
        futures.append(future)
    answers = await asyncio.gather(*futures, return_exceptions=True)
    return list(answers), acks


def sent(answer: Sent | BaseException) -> Sent:
    assert not isinstance(answer, BaseException), repr(answer)
    return answer


async def stored_seqs(services: Services, user: User, room: str) -> dict[str, int]:
    history, more = await services.messages.history(user, room, None, 0, 500)
    assert not more
    return {m.id: m.seq for m in history}


def new_user(conn: Any) -> User:
    user = User(new_id(), f"cy{new_id()[:6].lower()}", "Cy", "member", True, now_ms(SystemClock()))
    users.insert(conn, user, "not-a-hash")
    return user


def test_a_batch_of_sends_takes_gapless_seqs_in_ack_order(config: Any) -> None:
    async def scenario(services: Services) -> None:
        ada, bob, room = await services.db.write(make_room)
        sends = [((ada, bob)[i % 3 == 0], room, Draft(f"hello {i}", f"c{i}")) for i in range(200)]
        answers, acks = await one_batch(services, sends)
        results = [sent(answer) for answer in answers]
        assert acks == list(range(200))
        assert [m.seq for m, _, _ in results] == list(range(1, 201))
        assert all(created for _, created, _ in results)
        assert [m.body for m, _, _ in results] == [f"hello {i}" for i in range(200)]
        assert await stored_seqs(services, ada, room) == {m.id: m.seq for m, _, _ in results}

        def counters(conn: Any) -> tuple[Any, ...]:
            row = conn.execute(
                "SELECT last_seq, last_activity_at FROM conversations WHERE id = ?", (room,)
            ).fetchone()
            own = conn.execute(
                "SELECT user_id, own_unread FROM members WHERE conversation_id = ?", (room,)
            ).fetchall()
            return tuple(row), dict(own)

        (last_seq, activity), own = await services.db.read(counters)
        assert last_seq == 200 and activity == max(m.created_at for m, _, _ in results)
        assert own == {bob.id: 67, ada.id: 133}  # each author's own messages, counted

    run(config, scenario)


def test_a_client_id_sent_twice_in_one_batch_is_one_message(config: Any) -> None:
    async def scenario(services: Services) -> None:
        ada, bob, room = await services.db.write(make_room)
        answers, _ = await one_batch(
            services,
            [
                (ada, room, Draft("first", "same")),
                (bob, room, Draft("bob's own", "same")),  # another author: another message
                (ada, room, Draft("first again", "same")),
                (ada, room, Draft("other", "other")),
                (ada, room, Draft("first a third time", "same")),
            ],
        )
        first, bobs, again, other, third = (sent(answer) for answer in answers)
        assert [first[1], bobs[1], again[1], other[1], third[1]] == [True, True, False, True, False]
        assert [first[0].seq, bobs[0].seq, other[0].seq] == [1, 2, 3]
        for repeat in (again, third):
            assert repeat[0].to_json() == first[0].to_json()
            assert repeat[0] is not first[0]
        # a retry in a later batch finds it committed, beside a fresh send
        answers, _ = await one_batch(
            services, [(ada, room, Draft("x", "same")), (ada, room, Draft("y", "new"))]
        )
        retry, fresh = (sent(answer) for answer in answers)
        assert retry[1] is False and retry[0].to_json() == first[0].to_json()
        assert fresh[1] is True and fresh[0].seq == 4
        assert len(await stored_seqs(services, ada, room)) == 4

    run(config, scenario)


def test_a_refused_send_fails_alone_in_its_batch(config: Any) -> None:
    async def scenario(services: Services) -> None:
        ada, bob, room = await services.db.write(make_room)
        owner, _, closed = await services.db.write(make_room)
        carol = await services.db.write(new_user)

        def archive(conn: Any) -> None:
            conn.execute("UPDATE conversations SET archived = 1 WHERE id = ?", (closed,))

        await services.db.write(archive)
        too_long = "x" * (services.messages.max_chars + 1)
        answers, _ = await one_batch(
            services,
            [
                (ada, room, Draft("one", "k1")),
                (carol, room, Draft("not a member")),
                (bob, room, Draft("two")),
                (owner, closed, Draft("archived")),
                (ada, room, Draft(too_long, "k2")),
                (ada, room, Draft("  ")),
                (bob, room, Draft(5)),
                (ada, room, Draft("three", "k2")),  # k2's first send was refused: this one is new
                (ada, new_id(), Draft("no such room")),
                (ada, room, Draft("with a file", file_ids=["not-a-file"])),  # fails after writing
                (bob, room, Draft("four")),
            ],
        )
        kinds = [type(a).__name__ if isinstance(a, BaseException) else a[0].seq for a in answers]
        assert kinds == [
            1,
            NotFound.__name__,
            2,
            Conflict.__name__,
            ValidationFailed.__name__,
            ValidationFailed.__name__,
            ValidationFailed.__name__,
            3,
            NotFound.__name__,
            ValidationFailed.__name__,
            4,
        ]
        assert isinstance(answers[4], ValidationFailed) and "body" in answers[4].fields
        stored = await stored_seqs(services, ada, room)
        assert sorted(stored.values()) == [1, 2, 3, 4]

    run(config, scenario)


def test_replies_and_mentions_keep_their_place_in_a_batch(config: Any) -> None:
    async def scenario(services: Services) -> None:
        ada, bob, room = await services.db.write(make_room)
        root, _ = await services.messages.send(ada, room, Draft("root"))
        answers, acks = await one_batch(
            services,
            [
                (ada, room, Draft("plain a")),
                (bob, room, Draft("a reply", reply_to=root.id)),
                (ada, room, Draft("plain b")),
                (ada, room, Draft(f"hi @{bob.username}")),
                (bob, room, Draft("in the thread", reply_to=root.id, thread=True)),
                (bob, room, Draft("plain c")),
                (ada, room, Draft("plain d")),
            ],
        )
        results = [sent(answer) for answer in answers]
        assert acks == list(range(7))
        assert [m.seq for m, _, _ in results] == list(range(2, 9))
        assert results[1][0].reply_to == root.id and results[1][2] is not None
        assert results[3][0].mentions == [bob.id]
        assert results[4][0].thread and results[4][2] is not None
        assert results[4][2].thread_reply_count == 1
        assert all(not m.mentions for i, (m, _, _) in enumerate(results) if i != 3)
        stored = await stored_seqs(services, ada, room)
        assert stored == {root.id: 1} | {m.id: m.seq for m, _, _ in results}

    run(config, scenario)


def test_a_batch_of_plain_sends_is_two_statements_on_postgres(
    postgres: PostgresCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One check and one insert for 150 sends in one batch (one by one: 300 round trips);
    a reply in the middle runs on its own and splits the plain sends into two runs."""
    url = postgres.new_database()
    overrides = {
        "storage.data_dir": str(tmp_path),
        "storage.backend": "postgres",
        "storage.postgres_url": url,
    }
    statements: list[str] = []
    execute = PgConnection.execute

    def counting(self: PgConnection, sql: str, params: Any = ()) -> Any:
        statements.append(sql)
        return execute(self, sql, params)

    async def scenario(services: Services) -> None:
        ada, bob, room = await services.db.write(make_room)
        root, _ = await services.messages.send(ada, room, Draft("root"))
        monkeypatch.setattr(PgConnection, "execute", counting)
        answers, _ = await one_batch(
            services, [((ada, bob)[i % 2], room, Draft(f"m{i}", f"c{i}")) for i in range(150)]
        )
        assert [sent(answer)[0].seq for answer in answers] == list(range(2, 152))
        assert len(statements) == 2
        assert "INSERT INTO messages" in statements[1]
        statements.clear()
        sends = [(ada, room, Draft(f"n{i}")) for i in range(20)]
        sends.insert(10, (bob, room, Draft("a reply", reply_to=root.id)))
        answers, _ = await one_batch(services, sends)
        assert [sent(answer)[0].seq for answer in answers] == list(range(152, 173))
        alone = len(statements) - 4  # the reply's own statements, between the two runs
        assert alone > 2 and statements[2] not in statements[:2]
        assert statements[:2] == statements[-2:]
        monkeypatch.undo()

    run(load(None, {}, overrides), scenario)


def test_a_batch_of_plain_sends_is_a_few_statements_on_sqlite(tmp_path: Path) -> None:
    """150 plain sends from two authors in one batch: one check, one counter UPDATE, the
    rows, one own-unread UPDATE per author (one by one: five statements a send, 750). A
    reply in the middle runs on its own and splits the plain sends into two runs."""
    statements: list[str] = []

    def trace(conn: Any) -> None:
        conn.set_trace_callback(statements.append)

    def per_send(sql: str) -> bool:  # what the writer runs besides the sends' own
        return not sql.startswith(("BEGIN", "COMMIT", "INSERT INTO messages"))

    async def scenario(services: Services) -> None:
        ada, bob, room = await services.db.write(make_room)
        root, _ = await services.messages.send(ada, room, Draft("root"))
        await services.db.write(trace)
        statements.clear()
        answers, _ = await one_batch(
            services, [((ada, bob)[i % 2], room, Draft(f"m{i}", f"c{i}")) for i in range(150)]
        )
        assert [sent(answer)[0].seq for answer in answers] == list(range(2, 152))
        inserts = [sql for sql in statements if sql.startswith("INSERT INTO messages")]
        assert len(inserts) == 150  # executemany: one statement, traced once per row
        others = [sql for sql in statements if per_send(sql)]
        assert len(others) == 4, others
        assert "json_each" in others[0] and others[1].startswith("UPDATE conversations")
        assert all(sql.startswith("UPDATE members") for sql in others[2:])
        statements.clear()
        sends = [(ada, room, Draft(f"n{i}")) for i in range(20)]
        sends.insert(10, (bob, room, Draft("a reply", reply_to=root.id)))
        answers, _ = await one_batch(services, sends)
        assert [sent(answer)[0].seq for answer in answers] == list(range(152, 173))
        checks = [i for i, sql in enumerate(statements) if "json_each" in sql]
        assert len(checks) == 2  # one per run of plain sends, the reply between them
        between = statements[checks[0] : checks[1]]
        assert any(sql.startswith("SELECT conversation_id, thread, reply_to") for sql in between)
        assert len([sql for sql in statements if per_send(sql)]) < 20

    run(load(None, {}, {"storage.data_dir": str(tmp_path)}), scenario)
