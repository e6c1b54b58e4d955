"""Prometheus metrics, registered once per process in prometheus-client's default registry.

The default registry also carries the process collector (CPU, RSS, open fds). Names here are
the ones `packaging/grafana/chatd.json` queries; a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram

OPEN_SOCKETS = Gauge("chatd_open_sockets", "WebSocket connections open now")
ONLINE_USERS = Gauge("chatd_online_users", "users with presence other than offline")
MESSAGES_ACCEPTED = Counter("chatd_messages_accepted_total", "messages committed", ["via"])
EVENTS_DELIVERED = Counter("chatd_events_delivered_total", "event frames queued to sockets")
SLOW_SOCKET_CLOSES = Counter(
    "chatd_slow_socket_closes_total", "sockets closed with 4008 because they could not keep up"
)
HTTP_LATENCY = Histogram(
    "chatd_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
DB_COMMIT_SECONDS = Histogram(
    "chatd_db_commit_seconds",
    "time to run and commit one write batch",
    buckets=(0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
DB_LINGERS = Counter(
    "chatd_db_lingers_total",
    "write batches that waited a moment for more sends (several people sending densely)",
)
DB_BATCH_SIZE = Histogram(
    "chatd_db_batch_size",
    "operations committed together in one write batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
UPLOAD_BYTES = Counter("chatd_upload_bytes_total", "bytes received in completed uploads")

# ---- several nodes (cluster.bus = "nats", storage.backend = "postgres") -------------------
NODE_INFO = Gauge("chatd_node_info", "1, labelled with this node's cluster.node_name", ["node"])
BUS_MESSAGES = Counter(
    "chatd_bus_messages_total", "messages sent to or received from the cluster bus", ["direction"]
)
for _direction in ("in", "out"):  # both series exist from the start, at 0
    BUS_MESSAGES.labels(_direction)
BUS_RESYNCS = Counter(
    "chatd_bus_resyncs_total", "times this node closed sockets with 4009 so clients resync"
)
BUS_LOST_EVENTS = Counter(
    "chatd_bus_lost_events_total",
    "gaps seen on the bus (a missing seq or origin counter), each filled or resynced",
)
DB_POOL_WAITS = Counter(
    "chatd_db_pool_waits_total", "database reads that waited for a free pooled connection"
)


@lru_cache(maxsize=1024)
def http_latency(method: str, route: str, status: int) -> Histogram:
    """The labelled child, looked up once per (method, route, status): `labels()` builds and
    checks its key on every call, which showed in the profile of every request. Routes are
    templates, so the set is small."""
    return HTTP_LATENCY.labels(method, route, str(status))


@lru_cache(maxsize=8)
def messages_accepted(via: str) -> Counter:
    return MESSAGES_ACCEPTED.labels(via)


# ---- integrations ------------------------------------------------------------------------
OUTGOING_DELIVERIES = Counter(
    "chatd_outgoing_deliveries_total",
    "outgoing webhook deliveries, by result (ok: a 2xx answer; failed: after every retry)",
    ["result"],
)
OUTGOING_DROPPED = Counter(
    "chatd_outgoing_deliveries_dropped_total",
    "outgoing webhook deliveries dropped because the hook's queue was full",
)

# ---- notifications -----------------------------------------------------------------------
NOTIFY_DROPPED = Counter(
    "chatd_notify_dropped_total",
    "new messages not looked at for push or email because the notifier's queue was full",
)
