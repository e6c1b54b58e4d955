"""The floors: bare WebSocket broadcast servers, no persistence, no auth.

`python -m chatd.bench.floor PORT [strict|library]` serves until killed; `chatd bench
--floor` starts one and runs the same load against it, so chatd's costs read as a ratio.

- `strict` (the default) does the least a broadcast can do in Python, and exactly what chatd
  does on its hot path: uvloop, each incoming frame framed once, and the same bytes written
  to every transport. chatd cannot beat it; the question is how close it gets.
- `library` is `websockets.broadcast` on the default event loop, the comparison of the first
  round (it frames once per connection and costs about twice as much).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

CLIENTS: set[ServerConnection] = set()
TRANSPORTS: list[asyncio.Transport] = []


async def library_handler(connection: ServerConnection) -> None:
    CLIENTS.add(connection)
    try:
        async for message in connection:
            broadcast(CLIENTS, message)
    finally:
        CLIENTS.discard(connection)


async def strict_handler(connection: ServerConnection) -> None:
    transport = connection.transport
    TRANSPORTS.append(transport)
    try:
        while True:
            payload = await connection.recv(decode=False)
            data = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
            for each in TRANSPORTS:
                each.write(data)
    except ConnectionClosed:
        pass
    finally:
        TRANSPORTS.remove(transport)


async def main(port: int, kind: str) -> None:
    handler = strict_handler if kind == "strict" else library_handler
    async with serve(handler, "127.0.0.1", port, max_queue=None, ping_interval=None):
        print("floor ready", flush=True)
        await asyncio.Future()


def start(kind: str, affinity: set[int] | None) -> tuple[subprocess.Popen[str], str]:
    """A floor in its own process (pinned like the server when `affinity` is given)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "chatd.bench.floor", str(port), kind],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()
    if affinity:
        os.sched_setaffinity(proc.pid, affinity)
    return proc, f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    kind = sys.argv[2] if len(sys.argv) > 2 else "strict"
    if kind not in ("strict", "library"):
        raise SystemExit(f"unknown floor {kind!r}: strict or library")
    if kind == "strict":
        import uvloop

        uvloop.run(main(int(sys.argv[1]), kind))
    else:
        asyncio.run(main(int(sys.argv[1]), kind))
