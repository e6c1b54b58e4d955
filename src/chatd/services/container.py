"""Builds the services of one chatd process and owns their background tasks.

The web app's lifespan and the admin commands both start a `Services`; the admin commands
pass `background=False`, so they share the rules and the database but run no timers, and
they open the data directory as a guest (`services/datadir.py`): never touching a running
server's working files, never migrating a schema a running server uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatd import metrics
from chatd.clock import Clock, SystemClock
from chatd.config import Config
from chatd.db.database import Database, SqliteDatabase
from chatd.realtime.hub import Hub
from chatd.realtime.presence import PresenceTracker
from chatd.services.accounts import Accounts
from chatd.services.avatars import Avatars
from chatd.services.bots import Bots
from chatd.services.commands import Commands
from chatd.services.conversations import Conversations
from chatd.services.datadir import DataDirLock, open_for_admin, prepare_data_dir, search_index
from chatd.services.files import Files
from chatd.services.keyring import Keyring
from chatd.services.messages import Messages
from chatd.services.nodes import NodeRegistry
from chatd.services.notify import Notify
from chatd.services.outbound import Outbound
from chatd.services.outgoing import OutgoingHooks
from chatd.services.pins import Pins
from chatd.services.presence import PresenceService
from chatd.services.reactions import Reactions
from chatd.services.search import Search, SearchIndexer
from chatd.services.users import Site, Users
from chatd.services.webhooks import Webhooks
from chatd.store import conversations as conversation_store

if TYPE_CHECKING:  # the cluster modules: the embedded default never loads them
    from chatd.realtime.cluster_presence import ClusterPresenceTracker
    from chatd.realtime.natsbus import NatsBroker
    from chatd.services.cluster import ClusterLink

log = logging.getLogger("chatd")


def open_database(config: Config, prepared: Path) -> Database:
    """The configured backend (not started) over what `prepare_data_dir` or
    `open_for_admin` returned."""
    if config.storage.backend == "postgres":
        from chatd.db.postgres import PostgresDatabase

        return PostgresDatabase(config.storage.postgres_url, prepared)
    return SqliteDatabase(prepared, config.storage.synchronous, index=search_index(prepared))


def _integrations(
    config: Config,
    clock: Clock,
    db: Database,
    hub: Hub,
    messages: Messages,
    users: Users,
    site: Site,
    keyring: Keyring,
) -> tuple[Outbound, Webhooks, Commands, OutgoingHooks]:
    """One outbound client shared by every integration that calls out."""
    outbound = Outbound(config.integrations.deny_networks, config.integrations.timeout_s)
    webhooks = Webhooks(db, messages, keyring, site, clock, config.limits.webhook_per_minute)
    commands = Commands(db, hub, messages, outbound, keyring, users, site, clock)
    outgoing = OutgoingHooks(db, messages, outbound, keyring, users, clock)
    return outbound, webhooks, commands, outgoing


@dataclass
class Services:
    config: Config
    clock: Clock
    site: Site
    db: Database
    hub: Hub
    accounts: Accounts
    users: Users
    conversations: Conversations
    messages: Messages
    presence: PresenceService
    files: Files
    reactions: Reactions
    pins: Pins
    search: Search
    bots: Bots
    outbound: Outbound
    webhooks: Webhooks
    commands: Commands
    outgoing: OutgoingHooks
    notify: Notify
    avatars: Avatars
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    link: ClusterLink | None = None  # one node of several (cluster.bus = "nats")
    registry: NodeRegistry | None = None  # on PostgreSQL: who else runs on this database
    lock: DataDirLock | None = None  # a server's mark on its data directory, held while it runs

    @classmethod
    async def start(
        cls, config: Config, clock: Clock | None = None, *, background: bool = True
    ) -> Services:
        clock = clock or SystemClock()
        metrics.NODE_INFO.labels(config.cluster.node_name).set(1)
        lock: DataDirLock | None = None
        if background:
            lock = DataDirLock(config.storage.path)
            config.storage.path.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(lock.hold_shared)
            try:
                prepared = await asyncio.to_thread(prepare_data_dir, config)
            except BaseException:
                lock.release()
                raise
        else:
            prepared = await asyncio.to_thread(open_for_admin, config)
        db = open_database(config, prepared)
        await db.start()
        bus: NatsBroker | None = None
        if background and config.cluster.bus == "nats":
            from chatd.services import cluster  # brings in NATS: never on the default path

            bus = cluster.broker(config)
            hub = Hub(broker=bus)
            await bus.connect()  # subscribed before the caches load: nothing falls between
        else:
            hub = Hub()
            hub.load_memberships(await db.read(conversation_store.all_memberships))
        accounts = Accounts(db, hub, config, clock)
        site = Site(config.base_url())
        users = Users(db, hub, accounts, site, clock)
        conversations = Conversations(db, hub, clock)
        indexer = SearchIndexer(db)
        await indexer.start()  # indexes whatever a crash left, in the background
        messages = Messages(db, hub, clock, config.limits.max_message_chars, indexer)
        cluster_tracker: ClusterPresenceTracker | None = None
        tracker: PresenceTracker
        if bus is not None:
            tracker = cluster_tracker = cluster.tracker(hub, bus, config, clock)
        else:
            tracker = PresenceTracker(
                hub, clock, config.presence.away_after_s, config.presence.offline_grace_s
            )
        presence = PresenceService(db, hub, tracker, clock)
        files = Files(db, clock, config)
        keyring = await asyncio.to_thread(Keyring.load, config.storage.path)
        integrations = _integrations(config, clock, db, hub, messages, users, site, keyring)
        notify = await Notify.start(
            config, db, hub, tracker, clock, site, integrations[0], background
        )
        messages.on_created.append(notify.notifier.message_created)
        services = cls(
            config,
            clock,
            site,
            db,
            hub,
            accounts,
            users,
            conversations,
            messages,
            presence,
            files,
            Reactions(db, hub, clock),
            Pins(db, hub, clock),
            Search(db, indexer, config.limits.search_time_ms / 1000),
            Bots(db, hub, accounts, users, clock),
            *integrations,
            notify,
            Avatars(db, users.announce),
            lock=lock,
        )
        if bus is not None and cluster_tracker is not None:
            link = cluster.ClusterLink(db, hub, bus, cluster_tracker, accounts.forget_sessions)
            services.link = link
            await link.start()
            services.spawn(bus.run(), "bus")
        if background and config.storage.backend == "postgres":
            services.registry = NodeRegistry(db, config, clock)
            services.spawn(services.registry.run(), "node-registry")
        if background:
            services.spawn(accounts.watch_revocations(), "revocation-watch")
            services.spawn(accounts.run_session_pruner(), "session-pruner")
            services.spawn(presence.run(), "presence")
            services.spawn(files.run_sweeper(), "orphan-sweeper")
            services.spawn(services.outgoing.run(), "outgoing-hooks")
            for coro, name in notify.background():
                services.spawn(coro, name)
            services.spawn(accounts.onboarding.watch(), "default-channels")
        return services

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Start a background task and keep a reference so it is neither lost nor orphaned."""
        task = asyncio.create_task(coro, name=f"chatd-{name}")
        self.tasks.append(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.outgoing.close()
        await self.outbound.close()
        if self.registry is not None:
            with contextlib.suppress(Exception):
                await self.registry.leave()
        if self.link is not None:
            await self.link.stop()
            await self.link.broker.close()
        await self.presence.flush_last_seen()
        await self.search.indexer.close()
        await self.db.stop()
        if self.lock is not None:
            self.lock.release()

    async def ready(self) -> tuple[bool, str]:
        """Whether the database takes writes, the disk has room and, on a node of several,
        the cluster bus is connected (for /readyz). It adds no write of its own: the
        writer's state, one trivial read (is the database there?) and the free space."""
        if self.link is not None and not self.link.broker.connected:
            return False, "the cluster bus (NATS) is unreachable"
        if self.registry is not None and self.registry.problem is not None:
            return False, self.registry.problem
        problem = self.db.writer_problem()
        if problem is not None:
            return False, problem
        try:
            await asyncio.wait_for(self.db.ping(), timeout=5)
        except Exception as exc:
            return False, f"the database does not answer: {exc}"
        usage = await asyncio.to_thread(shutil.disk_usage, self.config.storage.path)
        if usage.free < self.config.storage.min_free_bytes:
            return False, f"only {usage.free} bytes free in the data directory"
        return True, "ok"
