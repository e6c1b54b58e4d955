"""Health, readiness and metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from chatd.errors import NotFound, Unavailable

from .http import JSONResponse, ok, services


async def healthz(request: Request) -> Response:
    return ok({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 or 503, the body naming the node either way (several may stand behind one name);
    a 503 also carries the usual error envelope."""
    found = services(request)
    ready, reason = await found.ready()
    node = found.config.cluster.node_name
    if not ready:
        error = Unavailable(reason)
        body = {"status": "unavailable", "node": node, **error.envelope()}
        return JSONResponse(body, status_code=error.status)
    return ok({"status": "ok", "node": node})


async def metrics(request: Request) -> Response:
    """Only to `server.metrics_networks` (loopback by default): the figures tell an outsider
    how busy the server is and who is online. Others get the 404 of a page that is not."""
    host = request.client.host if request.client else ""
    if not services(request).config.server.may_read_metrics(host):
        raise NotFound("no such page")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
