"""The bench's human table."""

from __future__ import annotations

from typing import Any

KEYS = [
    "offered_msg_s", "achieved_msg_s", "deliveries_s", "unacknowledged", "lost", "duplicated",
    "errors", "cpu_us_per_delivery", "cpu_us_per_message", "server_rss_mib", "load_cpu_cores",
]  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def table(report: dict[str, Any]) -> str:
    if "idle" in report:
        return "\n".join(f"{key:<28} {value}" for key, value in report["idle"].items())
    sides = [side for side in ("chatd", "floor") if side in report]
    rows = [f"{'':<28}" + "".join(f"{side:>14}" for side in sides)]
    for key in KEYS:
        rows.append(f"{key:<28}" + "".join(f"{_cell(report[s].get(key)):>14}" for s in sides))
    for group in ("latency_ms", "ack_ms"):
        for q in report["chatd"][group]:
            cells = "".join(f"{_cell(report[s][group].get(q)):>14}" for s in sides)
            rows.append(f"{group + ' ' + q:<28}{cells}")
    if "seq_check" in report:  # several nodes
        check = report["seq_check"]
        verdict = "passed" if check["passed"] else "FAILED"
        rows.append(f"{'seq check (1..N stored)':<28}{verdict:>14} ({check['stored']} stored)")
    if "cpu_per_delivery_ratio" in report:
        rows.append(f"{'cpu per delivery, chatd/floor':<28}{report['cpu_per_delivery_ratio']:>14}")
    return "\n".join(rows)
