"""Two chatd nodes on one PostgreSQL database and one NATS server, as docs/operations.md
sets them up: one database (in the session's PostgreSQL), NATS server and data directory for
the whole module, both nodes started together on the empty database. What holds on one node
must hold across them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ROOT, ChatdServer, Team
from .natsserver import NatsServer, free_port
from .pgcluster import PostgresCluster
from .test_conversations import Person
from .wsclient import WS


class Cluster:
    def __init__(self, root: Path, pg: PostgresCluster) -> None:
        self.root = root
        self.pg = pg  # the test session's (tests/conftest.py)
        self.nats = NatsServer().start()
        self.db_url = self.pg.new_database()
        self.data = root / "shared"  # what an NFS mount would be
        self.nodes: dict[str, ChatdServer] = {}

    def node(self, name: str) -> ChatdServer:
        env = {
            "CHATD_STORAGE_BACKEND": "postgres",
            "CHATD_STORAGE_POSTGRES_URL": self.db_url,
            "CHATD_CLUSTER_BUS": "nats",
            "CHATD_CLUSTER_NATS_URL": self.nats.url,
            "CHATD_CLUSTER_NODE_NAME": name,
            "CHATD_PRESENCE_AWAY_AFTER_S": "30",
            "CHATD_PRESENCE_OFFLINE_GRACE_S": "0",
        }
        server = ChatdServer(self.data, env)
        self.nodes[name] = server
        return server

    def stop(self) -> None:
        for server in self.nodes.values():
            server.stop(timeout=30)
        self.nats.stop()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster
) -> Iterator[Cluster]:
    found = Cluster(tmp_path_factory.mktemp("cluster"), postgres)
    try:
        a, b = found.node("a"), found.node("b")
        with ThreadPoolExecutor(2) as pool:  # together, on the empty database
            list(pool.map(lambda s: s.start(timeout=60), (a, b)))
        yield found
    finally:
        found.stop()


@pytest.fixture(scope="module")
def team(cluster: Cluster) -> Team:
    a = cluster.nodes["a"]
    if a.setup_token is None:  # b printed the setup link: the first node up took no part
        a.setup_token = cluster.nodes["b"].setup_token
    return Team(a)


@pytest.fixture(scope="module")
def people(cluster: Cluster, team: Team) -> dict[str, dict[str, Person]]:
    """Each person signed in once, used through either node: {name: {"a": .., "b": ..}}."""
    made: dict[str, dict[str, Person]] = {}
    for name in ("ann", "bob", "cat", "dan"):
        user, token = team.user(name, name.title())
        made[name] = {n: Person(cluster.nodes[n], user, token) for n in ("a", "b")}
    return made


def token(person: Person) -> str:
    return str(person.http.headers["Authorization"].split(" ", 1)[1])


def sock(cluster: Cluster, node: str, person: Person) -> WS:
    ws = WS(cluster.nodes[node].url, token(person))
    ws.welcome()
    return ws


def group(owner: Person, *others: Person) -> str:
    made = owner.create("group", [p.id for p in others])
    assert made.status_code == 201, made.text
    return str(made.json()["conversation"]["id"])


def created_seqs(ws: WS, cid: str, count: int, timeout: float = 20) -> list[int]:
    """The seqs of the next `count` message.created frames of `cid` on this socket."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        frame = ws.expect("message.created", timeout=deadline - time.monotonic())
        if frame["message"]["conversation_id"] == cid:
            seen.append(frame["message"]["seq"])
    return seen


def history(person: Person, cid: str, after: int = 0) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = person.http.get(
            f"/api/v1/conversations/{cid}/messages", params={"after": after, "limit": 200}
        )
        assert page.status_code == 200, page.text
        found += page.json()["messages"]
        if not page.json()["has_more"]:
            return found
        after = found[-1]["seq"]


def test_started_together_and_ready_with_their_names(cluster: Cluster) -> None:
    for name, node in cluster.nodes.items():
        ready = httpx.get(node.url + "/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "node": name}
        assert f"server.started node={name}" in node.log  # every log line names its node


def test_fan_out_and_concurrent_senders_keep_seq_gapless(
    cluster: Cluster, people: dict[str, dict[str, Person]]
) -> None:
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    cid = group(ann["a"], bob["a"], cat["a"])
    sockets = [
        sock(cluster, "a", ann["a"]),
        sock(cluster, "b", bob["b"]),
        sock(cluster, "a", cat["a"]),
        sock(cluster, "b", cat["b"]),
    ]
    per_sender = 40

    def burst(person: Person, tag: str) -> list[int]:
        acked = []
        for i in range(per_sender):
            sent = person.http.post(
                f"/api/v1/conversations/{cid}/messages", json={"body": f"{tag} {i}"}
            )
            assert sent.status_code == 201, sent.text
            acked.append(sent.json()["message"]["seq"])
        return acked

    with ThreadPoolExecutor(2) as pool:  # senders on both nodes at once
        acks = list(pool.map(burst, (ann["a"], bob["b"]), ("from a", "from b")))
    total = 2 * per_sender
    assert sorted(acks[0] + acks[1]) == list(range(1, total + 1))
    stored = history(cat["b"], cid)
    assert [m["seq"] for m in stored] == list(range(1, total + 1))
    by_seq = {m["seq"]: m["body"] for m in stored}
    for i, seq in enumerate(acks[0]):
        assert by_seq[seq] == f"from a {i}"  # every ack's seq is its message's
    for ws in sockets:  # every socket on either node: each message once, in seq order
        assert created_seqs(ws, cid, total) == list(range(1, total + 1))
        assert [f for f in ws.quiet(0.3, "message.created")] == []
        ws.close()


def test_client_id_is_idempotent_across_nodes(people: dict[str, dict[str, Person]]) -> None:
    ann = people["ann"]
    cid = group(ann["a"], people["dan"]["a"])
    body = {"body": "once", "client_id": "c-123"}
    first = ann["a"].http.post(f"/api/v1/conversations/{cid}/messages", json=body)
    again = ann["b"].http.post(f"/api/v1/conversations/{cid}/messages", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert len(history(ann["b"], cid)) == 1


def at_once(*calls: Any) -> list[httpx.Response]:
    """Each call on its own thread, released together: two nodes' writers racing."""
    start = threading.Barrier(len(calls), timeout=10)

    def fire(call: Any) -> httpx.Response:
        start.wait()
        answer: httpx.Response = call()
        return answer

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(fire, calls))


def test_unique_races_across_nodes_answer_as_one_node_does(
    cluster: Cluster, team: Team, people: dict[str, dict[str, Person]]
) -> None:
    """The same name taken through both nodes in the same instant: the loser gets the 409
    (or the existing record) that one node gives, never a 500 from the unique index. (The
    loser's insert waits for the winner's commit, fails, and its operation runs again: its
    own checks then see the winner's row, as on one node.)"""
    ann, bob = people["ann"], people["bob"]
    admins = [cluster.nodes[n].client(team.admin_token) for n in ("a", "b")]
    try:
        for i in range(8):
            name = f"racer{i}-{os.getpid()}"
            made = at_once(
                *(
                    partial(
                        h.post, "/api/v1/admin/users", json={"username": name, "password": "x" * 12}
                    )
                    for h in admins
                )
            )
            assert sorted(r.status_code for r in made) == [201, 409], [r.text for r in made]
            lost = next(r for r in made if r.status_code == 409).json()["error"]
            assert lost["code"] == "conflict" and lost["fields"] == {"username": "is taken"}

            channel = f"race-{i}"
            made = at_once(
                partial(ann["a"].create, "channel", [], name=channel),
                partial(bob["b"].create, "channel", [], name=channel),
            )
            assert sorted(r.status_code for r in made) == [201, 409], [r.text for r in made]
            lost = next(r for r in made if r.status_code == 409).json()["error"]
            assert lost["code"] == "conflict" and lost["fields"] == {"name": "is taken"}
            cid = next(r for r in made if r.status_code == 201).json()["conversation"]["id"]

            join = f"/api/v1/conversations/{cid}/join"  # the same person through both nodes
            joined = at_once(*(partial(people["cat"][n].http.post, join) for n in ("a", "b")))
            assert [r.status_code for r in joined] == [200, 200], [r.text for r in joined]

        for name in ("cat", "dan"):  # a direct conversation opened from both ends at once
            other = people[name]
            made = at_once(
                partial(ann["a"].create, "direct", [other["a"].id]),
                partial(other["b"].create, "direct", [ann["b"].id]),
            )
            assert sorted(r.status_code for r in made) == [200, 201], [r.text for r in made]
            assert len({r.json()["conversation"]["id"] for r in made}) == 1
    finally:
        for http in admins:
            http.close()


def test_typing_presence_and_read_cross_nodes(
    cluster: Cluster, people: dict[str, dict[str, Person]]
) -> None:
    ann, dan = people["ann"], people["dan"]
    cid = group(dan["a"], ann["a"])
    watcher = sock(cluster, "b", ann["b"])
    dans = sock(cluster, "a", dan["a"])  # dan comes online on a
    seen = watcher.expect("presence", timeout=5)
    while seen["presence"]["user_id"] != dan["a"].id:
        seen = watcher.expect("presence", timeout=5)
    assert seen["presence"]["status"] == "online"
    listed = ann["b"].http.get("/api/v1/presence").json()
    statuses = {p["user_id"]: p["status"] for p in listed["presence"]}
    assert statuses[dan["a"].id] == "online"
    dans.send({"type": "typing", "conversation_id": cid})
    typing = watcher.expect("typing", timeout=5)
    assert typing == {"type": "typing", "conversation_id": cid, "user_id": dan["a"].id}
    dan_on_b = sock(cluster, "b", dan["b"])  # read on a reaches dan's socket on b
    dan["a"].http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"})
    assert dan["a"].http.post(f"/api/v1/conversations/{cid}/read", json={"seq": 1}).is_success
    read = dan_on_b.expect("read", timeout=5)
    assert (read["conversation_id"], read["seq"]) == (cid, 1)
    dans.close()
    dan_on_b.close()
    gone = watcher.expect("presence", timeout=5)
    assert (gone["presence"]["user_id"], gone["presence"]["status"]) == (dan["a"].id, "offline")
    watcher.close()


def test_revocations_through_a_close_sockets_on_b(
    cluster: Cluster, team: Team, people: dict[str, dict[str, Person]]
) -> None:
    admin_a = cluster.nodes["a"].client(team.admin_token)
    user, tok = team.user("eve", "Eve")
    eve_b = Person(cluster.nodes["b"], user, tok)
    eve_a = Person(cluster.nodes["a"], user, tok)
    # member removal: no further events of that conversation on b
    cid = group(people["ann"]["a"], eve_a)
    watch = sock(cluster, "b", eve_b)
    removed = people["ann"]["a"].http.delete(f"/api/v1/conversations/{cid}/members/{user['id']}")
    assert removed.status_code in (200, 204), removed.text
    watch.expect("member.removed", timeout=2, user_id=user["id"])
    people["ann"]["a"].http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "after"})
    assert watch.quiet(0.5, "message.created") == []
    # logout through a closes the session's socket on b, within 2 s
    started = time.monotonic()
    assert eve_a.http.post("/api/v1/auth/logout").is_success
    assert watch.close_code(timeout=2) == 4001
    assert time.monotonic() - started < 2
    # session revoke and account disable
    for how in ("revoke", "disable"):
        signed = httpx.post(
            cluster.nodes["b"].url + "/api/v1/auth/login",
            json={"username": "eve", "password": "correct horse battery"},
        )
        if how == "disable":
            assert signed.status_code == 200
        fresh = signed.json()["token"]
        ws = WS(cluster.nodes["b"].url, fresh)
        ws.welcome()
        if how == "revoke":
            with cluster.nodes["a"].client(fresh) as http:
                sid = ws.hello["session_id"] if ws.hello else ""
                assert http.delete(f"/api/v1/auth/sessions/{sid}").is_success
        else:
            patched = admin_a.patch(f"/api/v1/admin/users/{user['id']}", json={"active": False})
            assert patched.status_code == 200, patched.text
        assert ws.close_code(timeout=2) == 4001, how
        with cluster.nodes["b"].client(fresh) as http:
            assert http.get("/api/v1/users/me").status_code == 401
    admin_a.close()


def test_upload_on_a_download_on_b(people: dict[str, dict[str, Person]]) -> None:
    ann = people["ann"]
    data = b"shared across nodes " * 1000
    made = ann["a"].http.post("/api/v1/files", files={"file": ("n.txt", data, "text/plain")})
    assert made.status_code == 201, made.text
    fetched = ann["b"].http.get(f"/api/v1/files/{made.json()['file']['id']}")
    assert fetched.status_code == 200 and fetched.content == data


def test_nats_restart_loses_nothing_acknowledged(
    cluster: Cluster, people: dict[str, dict[str, Person]]
) -> None:
    ann, bob = people["ann"], people["bob"]
    cid = group(ann["a"], bob["a"])
    watcher = sock(cluster, "b", bob["b"])
    acked: list[int] = []

    def send(n: int) -> None:
        for i in range(n):
            sent = ann["a"].http.post(
                f"/api/v1/conversations/{cid}/messages", json={"body": str(i)}
            )
            assert sent.status_code == 201
            acked.append(sent.json()["message"]["seq"])

    send(5)
    cluster.nats.stop()
    urls = [node.url for node in cluster.nodes.values()]
    deadline = time.monotonic() + 5
    while any(httpx.get(u + "/readyz").status_code != 503 for u in urls):
        assert time.monotonic() < deadline, "readyz stayed 200 without NATS"
        time.sleep(0.1)
    send(10)  # acknowledged while the bus is away
    time.sleep(max(0.0, deadline - time.monotonic()))
    cluster.nats.start()
    deadline = time.monotonic() + 15
    while any(httpx.get(u + "/readyz").status_code != 200 for u in urls):
        assert time.monotonic() < deadline, "readyz did not come back"
        time.sleep(0.1)
    send(5)
    # the watcher got every acknowledged message, or was closed with 4009 and fills by after=
    got: list[int] = []
    closed: int | None = None
    while len(got) < len(acked):
        try:
            frame = watcher.expect("message.created", timeout=5)
        except Exception:
            closed = watcher.close_code(timeout=1)
            break
        got.append(frame["message"]["seq"])
    if closed is not None:
        assert closed == 4009
        got += [m["seq"] for m in history(bob["b"], cid, after=max(got, default=0))]
    assert sorted(set(got)) == sorted(acked) == list(range(1, 21))
    assert got == sorted(got)  # never out of order, never twice


def test_kill_9_during_a_burst_loses_no_acknowledged_message(
    cluster: Cluster, people: dict[str, dict[str, Person]]
) -> None:
    ann, bob = people["ann"], people["bob"]
    doomed = cluster.node("c").start(timeout=60)
    cid = group(ann["a"], bob["a"])
    watcher = sock(cluster, "b", bob["b"])
    acked: list[int] = []
    stop = threading.Event()

    def burst() -> None:
        with doomed.client(token(ann["a"])) as http:
            for i in range(10_000):
                if stop.is_set():
                    return
                try:
                    sent = http.post(f"/api/v1/conversations/{cid}/messages", json={"body": str(i)})
                except httpx.HTTPError:
                    return
                if sent.status_code == 201:
                    acked.append(sent.json()["message"]["seq"])

    sender = threading.Thread(target=burst)
    sender.start()
    while len(acked) < 30:
        time.sleep(0.01)
    doomed.kill()
    stop.set()
    sender.join(10)
    stored = [m["seq"] for m in history(bob["b"], cid)]
    assert set(acked) <= set(stored)
    assert stored == list(range(1, len(stored) + 1))
    # b's socket gets them all: over the bus, or read back once c's heartbeats stop
    got = created_seqs(watcher, cid, len(stored), timeout=15)
    assert got == stored
    watcher.close()


def test_the_documented_caddy_config_in_front_of_two_nodes(
    cluster: Cluster, people: dict[str, dict[str, Person]]
) -> None:
    caddy_bin = shutil.which("caddy")
    assert caddy_bin is not None, "caddy is not installed (make test installs it)"
    port = free_port()
    documented = (ROOT / "packaging" / "caddy" / "Caddyfile").read_text()
    assert (
        documented.split("\nchat.example.lan", 1)[1]
        in (ROOT / "docs" / "operations.md").read_text()
    )
    nodes = " ".join(f"127.0.0.1:{cluster.nodes[n].port}" for n in ("a", "b"))
    config = "{\n\tadmin off\n\tauto_https off\n}\n" + documented.replace(
        "chat.example.lan", f"http://127.0.0.1:{port}"
    ).replace("10.0.0.11:8080 10.0.0.12:8080", nodes)
    home = cluster.root / "caddy"
    home.mkdir(exist_ok=True)
    (home / "Caddyfile").write_text(config)
    proc = subprocess.Popen(
        [caddy_bin, "run", "--config", str(home / "Caddyfile"), "--adapter", "caddyfile"],
        env={
            **os.environ,
            "HOME": str(home),
            "XDG_DATA_HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "caddy did not come up"
            time.sleep(0.1)
        served_by = {httpx.get(url + "/readyz").json()["node"] for _ in range(6)}
        assert served_by == {"a", "b"}  # round robin, no stickiness
        ann, bob = people["ann"]["a"], people["bob"]["a"]
        cid = group(ann, bob)
        sockets = [WS(url, token(bob)) for _ in range(2)]  # one lands on each node
        for ws in sockets:
            ws.welcome()
        with httpx.Client(base_url=url, headers=ann.http.headers, timeout=30) as http:
            data = os.urandom(300_000)
            made = http.post(
                "/api/v1/files", files={"file": ("r.bin", data, "application/octet-stream")}
            )
            assert made.status_code == 201, made.text
            fid = made.json()["file"]["id"]
            sent = http.post(
                f"/api/v1/conversations/{cid}/messages",
                json={"body": "via caddy", "file_ids": [fid]},
            )
            assert sent.status_code == 201, sent.text
            assert http.get(f"/api/v1/files/{fid}").content == data
        for ws in sockets:
            frame = ws.expect("message.created", timeout=5)
            assert frame["message"]["body"] == "via caddy"
            ws.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_local_bus_node_is_refused_beside_live_nodes(cluster: Cluster) -> None:
    lone = cluster.node("lone")
    lone.env["CHATD_CLUSTER_BUS"] = "local"
    with pytest.raises(RuntimeError) as refused:
        lone.start(timeout=30)
    assert "is alive on this PostgreSQL database" in str(refused.value)
    assert "cluster.bus = nats" in str(refused.value)
    del cluster.nodes["lone"]


def test_bench_spreads_clients_over_both_nodes(cluster: Cluster, team: Team) -> None:
    urls = [arg for n in ("a", "b") for arg in ("--url", cluster.nodes[n].url)]
    done = subprocess.run(
        [sys.executable, "-m", "chatd", "bench", *urls, "--json", "--token", team.admin_token,
         "--members", "4", "--senders", "4", "--rate", "100", "--duration", "1"],
        capture_output=True, text=True, timeout=120, check=True, cwd=ROOT,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert len(report["server_pids"]) == 2  # both nodes' CPU is counted
    chatd = report["chatd"]
    assert chatd["acked"] == chatd["sent"] > 0
    assert chatd["lost"] == chatd["duplicated"] == 0
    assert report["seq_check"] == {"stored": chatd["acked"], "gapless": True, "passed": True}
    for name in ("a", "b"):  # each node counts its own bus traffic
        text = httpx.get(cluster.nodes[name].url + "/metrics").text
        assert f'chatd_node_info{{node="{name}"}} 1.0' in text
        for direction in ("in", "out"):
            found = re.search(rf'chatd_bus_messages_total{{direction="{direction}"}} (\S+)', text)
            assert found is not None and float(found.group(1)) > 0
        for metric in ("chatd_bus_resyncs_total", "chatd_bus_lost_events_total"):
            assert f"{metric} " in text


def test_database_pool_waits_are_counted(
    cluster: Cluster, people: dict[str, dict[str, Person]]
) -> None:
    node = cluster.nodes["a"]

    def waits() -> float:
        text = httpx.get(node.url + "/metrics").text
        found = re.search(r"^chatd_db_pool_waits_total (\S+)", text, re.M)
        assert found is not None
        return float(found.group(1))

    before = waits()
    ann = people["ann"]["a"]
    cid = group(ann, people["bob"]["a"])
    with ThreadPoolExecutor(32) as pool:  # more reads at once than the node has connections
        list(pool.map(lambda _: history(ann, cid), range(400)))
    assert waits() > before
