"""The scale-out figures of docs/performance.md: the same two loads on one SQLite node, one
PostgreSQL node and two PostgreSQL nodes sharing NATS, all on this machine.

Usage: .venv/bin/python tools/measure_cluster.py OUT_DIR [SETUP ...]   (a few minutes)
SETUP narrows the run to some of sqlite-1-node, postgres-1-node, postgres-2-nodes.
PostgreSQL and nats-server are started here (Debian's binaries, as the tests do) in a temp
directory and removed afterwards; each setup gets a fresh database and data directory.
Each report adds PostgreSQL's own CPU time during the load (the postmaster and its
children, chatd's connections among them): chatd's CPU alone hides where a send's cost
went, and CPU per message is steadier than rates on a shared machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import ChatdServer  # noqa: E402
from tests.natsserver import NatsServer  # noqa: E402
from tests.pgcluster import PostgresCluster  # noqa: E402

LOADS = {
    "fanout-1000": ["--members", "50", "--senders", "5", "--rate", "1000", "--duration", "10"],
    "persisted-50-senders": [
        "--members", "50", "--senders", "50", "--rate", "2000", "--duration", "10",
        "--listeners", "0",
    ],
    "persisted-50-senders-2500": [  # headroom: does it take more than the target?
        "--members", "50", "--senders", "50", "--rate", "2500", "--duration", "10",
        "--listeners", "0",
    ],
}  # fmt: skip


def admin_token(server: ChatdServer) -> str:
    import httpx

    answer = httpx.post(
        server.url + "/api/v1/setup",
        json={"setup_token": server.setup_token, "username": "benchadmin",
              "password": "bench-password-1"},
    )  # fmt: skip
    answer.raise_for_status()
    return str(answer.json()["token"])


def postgres_cpu_s(pg: PostgresCluster) -> float:
    """User plus system CPU of the postmaster and every process it started, so far."""
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(proc.name) == postmaster or int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def bench(
    out: Path, name: str, urls: list[str], token: str, load: list[str], pg: PostgresCluster | None
) -> None:
    args = [a for url in urls for a in ("--url", url)] + ["--token", token, "--json", *load]
    pg_before = postgres_cpu_s(pg) if pg is not None else 0.0
    done = subprocess.run(
        [sys.executable, "-m", "chatd", "bench", *args], capture_output=True, text=True, cwd=ROOT
    )
    text = done.stdout or done.stderr
    if pg is not None and done.returncode == 0:
        report = json.loads(text)
        spent = postgres_cpu_s(pg) - pg_before
        acked = report["chatd"]["acked"] or report["chatd"]["sent"]
        report["postgres"] = {
            "cpu_s": round(spent, 2),
            "cpu_us_per_message": round(spent / acked * 1e6, 1) if acked else None,
        }
        text = json.dumps(report, indent=2) + "\n"
    (out / f"{name}.json").write_text(text)
    print(name, "written", flush=True)


def setup(name: str, tmp: Path, envs: list[dict[str, str]]) -> list[ChatdServer]:
    data = tmp / name
    nodes = [ChatdServer(data, env) for env in envs]
    for node in nodes:
        node.start(timeout=60)
    return nodes


def main(out: Path, only: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="chatd-measure-cluster-"))
    pg = PostgresCluster().start()
    nats = NatsServer().start()
    try:
        pg_env = {"CHATD_STORAGE_BACKEND": "postgres"}
        for setup_name, envs in (
            ("sqlite-1-node", [{}]),
            ("postgres-1-node", [{**pg_env, "CHATD_STORAGE_POSTGRES_URL": pg.new_database()}]),
            ("postgres-2-nodes", "cluster"),
        ):
            if only and setup_name not in only:
                continue
            if envs == "cluster":
                url = pg.new_database()
                envs = [
                    {**pg_env, "CHATD_STORAGE_POSTGRES_URL": url, "CHATD_CLUSTER_BUS": "nats",
                     "CHATD_CLUSTER_NATS_URL": nats.url, "CHATD_CLUSTER_NODE_NAME": f"n{i}"}
                    for i in (1, 2)
                ]  # fmt: skip
            nodes = setup(setup_name, tmp, envs)  # type: ignore[arg-type]
            try:
                first = next(n for n in nodes if n.setup_token)
                token = admin_token(first)
                for load_name, load in LOADS.items():
                    on_pg = pg if setup_name.startswith("postgres") else None
                    urls = [n.url for n in nodes]
                    bench(out, f"{setup_name}-{load_name}", urls, token, load, on_pg)
            finally:
                for node in nodes:
                    node.stop(timeout=30)
    finally:
        nats.stop()
        pg.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    summary = {}
    for path in sorted(out.glob("*.json")):
        try:
            report = json.loads(path.read_text())
        except ValueError:
            continue
        chatd = report["chatd"]
        summary[path.stem] = {
            "achieved_msg_s": chatd["achieved_msg_s"],
            "lost": chatd["lost"],
            "duplicated": chatd["duplicated"],
            "latency_p99_ms": chatd["latency_ms"]["p99"],
            "ack_p99_ms": chatd["ack_ms"]["p99"],
            "cpu_us_per_delivery": chatd["cpu_us_per_delivery"],
            "seq_check": report.get("seq_check"),
            "cpu_us_per_message": chatd["cpu_us_per_message"],
            "postgres_cpu_us_per_message": (report.get("postgres") or {}).get("cpu_us_per_message"),
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    os.environ.pop("CHATD_CONFIG", None)
    main(Path(sys.argv[1]), sys.argv[2:])
