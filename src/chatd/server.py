"""Runs the app under uvicorn: signals, start-up lines, sd_notify, and exit code 0 on SIGTERM.

uvicorn's own signal capture re-raises SIGTERM after its graceful shutdown, so the process
would die by the signal; we install our handlers instead. On SIGTERM or SIGINT we first close
every WebSocket with 1001 (uvicorn would use 1012), then let uvicorn stop accepting, finish
in-flight requests and run the lifespan shutdown, which drains the database writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
import sys
from collections.abc import Generator

import uvicorn

from chatd import systemd
from chatd.api.httpprotocol import HttpLimits, http_protocol
from chatd.api.wsprotocol import ChatdWebSocketProtocol
from chatd.app import create_app
from chatd.config import Config
from chatd.log import event
from chatd.realtime.protocol import CLOSE_GOING_AWAY, HEARTBEAT_S, MAX_FRAME_BYTES
from chatd.services.container import Services

log = logging.getLogger("chatd")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # signals are handled by run() below


def _bound_port(server: uvicorn.Server, fallback: int) -> int:
    for listener in getattr(server, "servers", []):
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    return fallback


def _raise_open_files_limit() -> None:
    """Every socket is a file descriptor; take all the kernel allows this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# Young-generation collections every GC_YOUNG net new container objects instead of 700, the
# older generations as rarely. At saturation a send allocates dozens of objects (frame, dicts,
# request, message, event) that nearly all die young by refcount; with the defaults the
# collector ran thousands of times in a 10 s bench and its full passes over everything alive
# (tens of ms each) were a fifth of the event loop's and a third of the writer's CPU. What
# a young collection can find at most is this many objects' worth of cycles: a few MiB.
GC_YOUNG = 20_000
GC_OLDER = (20, 50)


def _tune_gc() -> None:
    gc.set_threshold(GC_YOUNG, *GC_OLDER)


def _freeze_startup_objects() -> None:
    """Modules, classes and the app built at start-up live as long as the process: moved to
    the permanent generation, no full collection walks them again."""
    gc.collect()
    gc.freeze()


async def run(config: Config) -> int:
    _raise_open_files_limit()
    _tune_gc()
    # Every setting in effect, secrets masked: what a bug report needs and nothing it must not.
    event(log, logging.INFO, "server.config", **config.redacted_fields())
    app = create_app(config)
    uv_config = uvicorn.Config(
        app,
        host=config.server.host,
        port=config.server.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # uvicorn's httptools protocol with a bounded, timed request head and a timed body
        http=http_protocol(HttpLimits.of(config.server)),
        ws=ChatdWebSocketProtocol,  # uvicorn's own, lighter per idle socket
        ws_max_size=MAX_FRAME_BYTES,  # a bigger frame closes the socket with 1009
        # Compression would cost a deflate per socket per event (no frame could be shared)
        # to save bandwidth a LAN does not lack.
        ws_per_message_deflate=False,
        ws_ping_interval=HEARTBEAT_S,  # protocol pings find dead peers
        ws_ping_timeout=HEARTBEAT_S,
        proxy_headers=bool(config.server.trusted_proxies),
        forwarded_allow_ips=list(config.server.trusted_proxies) or [],
        timeout_graceful_shutdown=config.server.shutdown_timeout_s,
        server_header=False,
        # https and wss straight from chatd (server.tls_cert_file / tls_key_file): push,
        # notifications and the clipboard need a secure page, and a LAN may have no proxy
        ssl_certfile=config.server.tls_cert_file or None,
        ssl_keyfile=config.server.tls_key_file or None,
    )
    server = _Server(uv_config)
    loop = asyncio.get_running_loop()

    stopping: list[asyncio.Task[None]] = []

    async def close_sockets_then_exit() -> None:
        """Close every socket with 1001 ourselves, briefly wait, then let uvicorn stop."""
        services: Services | None = getattr(app.state, "services", None)
        if services is not None:
            for conn in services.hub.connections():
                conn.close_soon(CLOSE_GOING_AWAY, "server shutting down")
            for _ in range(100):
                if not services.hub.connections():
                    break
                await asyncio.sleep(0.02)
        server.should_exit = True

    def request_stop() -> None:
        if stopping:
            server.force_exit = True
            return
        event(log, logging.INFO, "server.stopping")
        systemd.notify("STOPPING=1")
        stopping.append(asyncio.create_task(close_sockets_then_exit()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    serving = asyncio.create_task(server.serve(), name="chatd-uvicorn")
    # uvicorn offers no event for "sockets bound"; poll its flag briefly.
    while not server.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    if server.started:
        port = _bound_port(server, config.server.port)
        base = config.base_url()
        if not config.server.public_url:
            base = base.rsplit(":", 1)[0] + f":{port}"
        services = app.state.services
        services.site.url = base
        event(log, logging.INFO, "server.started", url=base + "/", port=port)
        print(f"chatd is running at {base}/", flush=True)
        if await services.accounts.setup_needed():
            token = services.accounts.setup_token
            print(
                f"First run: open {base}/setup#token={token} to create the admin account.",
                flush=True,
            )
        _freeze_startup_objects()
        systemd.notify("READY=1")
    try:
        await serving
    except SystemExit as exc:
        return int(exc.code or 1)
    return 0 if server.started else 1


def main(config: Config) -> int:
    try:
        import uvloop

        return uvloop.run(run(config))
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(run(config))
    except KeyboardInterrupt:  # pragma: no cover
        sys.stderr.write("interrupted\n")
        return 0
