"""The node registry on a shared PostgreSQL database: who else runs, and on which bus.

Two nodes on one database must share their events over NATS: a node on `cluster.bus =
"local"` would never hear the other's messages, typing or revocations. Each node on
PostgreSQL upserts its row in `nodes` every `BEAT_S`; a row not renewed for `ALIVE_S` is a
node that stopped (or was killed). At start `chatd serve` refuses to run on `local` while
another node is alive, and on `nats` while a node on `local` is; while running, a conflict
that appears anyway (two nodes started in the same instant) turns `/readyz` to 503 and is
logged, so the load balancer stops sending clients to a node that cannot serve them right.
A node is known by its name, so a node restarted under the same name replaces its own row.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from chatd.clock import Clock, now_ms
from chatd.config import Config
from chatd.db.groupcommit import Database
from chatd.log import event
from chatd.store import nodes

log = logging.getLogger("chatd.nodes")

BEAT_S = 2.0
ALIVE_S = 3 * BEAT_S


class NodeConflict(Exception):
    """This node may not run beside the nodes alive on its database; the message says why."""


def conflict(name: str, bus: str, alive: list[tuple[str, str, str]]) -> str | None:
    """Why a node `name` on `bus` may not run beside `alive` (name, instance, bus), if so."""
    others = [(other, other_bus) for other, _, other_bus in alive if other != name]
    if bus == "local" and others:
        return (
            f"another chatd node ({others[0][0]}) is alive on this PostgreSQL database: "
            "several nodes need cluster.bus = nats on every node"
        )
    on_local = [other for other, other_bus in others if other_bus == "local"]
    if bus == "nats" and on_local:
        return (
            f"node {on_local[0]} runs on this database with cluster.bus = local: "
            "set cluster.bus = nats on every node"
        )
    return None


def check_can_join(config: Config) -> None:
    """Refuse to start beside nodes this one cannot share events with (PostgreSQL only)."""
    if config.storage.backend != "postgres":
        return
    from chatd.db.pgconn import connect  # psycopg: the PostgreSQL path only

    conn = connect(config.storage.postgres_url)
    try:
        since = int(time.time() * 1000 - ALIVE_S * 1000)
        alive = nodes.alive(conn, since)  # type: ignore[arg-type]
    finally:
        conn.close()
    problem = conflict(config.cluster.node_name, config.cluster.bus, alive)
    if problem is not None:
        raise NodeConflict(problem)


class NodeRegistry:
    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.name = config.cluster.node_name
        self.bus = config.cluster.bus
        self.instance = secrets.token_hex(4)
        self.problem: str | None = None

    async def beat(self) -> None:
        now = now_ms(self.clock)
        await self.db.write(nodes.beat, self.name, self.instance, self.bus, now)
        alive = await self.db.read(nodes.alive, now - int(ALIVE_S * 1000))
        problem = conflict(self.name, self.bus, alive)
        if problem != self.problem and problem is not None:
            event(log, logging.ERROR, "nodes.conflict", problem=problem)
        self.problem = problem

    async def run(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception as exc:  # the database away: /readyz says so already
                event(log, logging.WARNING, "nodes.beat_failed", error=repr(exc))
            await asyncio.sleep(BEAT_S)

    async def leave(self) -> None:
        """A clean stop frees the name at once (a killed node's row just ages out)."""
        await self.db.write(nodes.leave, self.name, self.instance)
