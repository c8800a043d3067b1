"""The run's figures: `latest.json` (every figure with its ratio to the floor or the peer), the
printed table, `latest.png`, and `history.jsonl` (one line a run, for latency against size)."""

import json
import statistics
import time
from pathlib import Path
from typing import Any

ENDPOINT_LABELS = {
    "list_all": "change list, page of 50, change manager (sees all)",
    "list_requester": "change list, page of 50, a requester",
    "inbox": "inbox, page of 50, head of IT",
    "detail": "change detail",
    "approve": "approve, distinct changes",
}
PAGE_LABELS = {"page_list": "HTML change list", "page_inbox": "HTML inbox"}


def _ratio(value: float, base: float) -> float | None:
    return round(value / base, 4) if base else None


def _pooled(rounds: list[dict[str, Any]]) -> dict[str, float]:
    times = [t for r in rounds for t in r["times_ms"]]
    statements = [r["statements"] for r in rounds]
    return {
        "p50_ms": round(statistics.median(times), 2) if times else 0.0,
        "statements": round(statistics.fmean(statements), 2) if statements else 0.0,
        "count": len(times),
    }


def assemble(
    *,
    config: dict[str, Any],
    changes: int,
    audit_events: int,
    seeded: dict[str, Any],
    queries: dict[str, int],
    load: dict[str, dict[str, Any]],
    http: dict[str, list[dict[str, Any]]],
    decisions: dict[str, list[dict[str, Any]]],
    verify: dict[str, Any],
    export: dict[str, Any],
    export_json: dict[str, Any],
    sla: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    floor = load["floor"]
    results: dict[str, Any] = {
        "changes": changes,
        "audit_events": audit_events,
        "floor": floor | {"queries": queries.get("floor")},
    }
    for name in ENDPOINT_LABELS:
        figure = load[name]
        results[name] = {
            "rps": figure["rps"],
            "p50_ms": figure["p50_ms"],
            "p95_ms": figure["p95_ms"],
            "p99_ms": figure["p99_ms"],
            "queries": queries.get(name),
            "ratio_to_floor": _ratio(figure["rps"], floor["rps"]),
            "requests": figure["requests"],
            "errors": figure["errors"],
        }
    pages = {
        name.removeprefix("page_"): {
            "rps": load[name]["rps"],
            "p50_ms": load[name]["p50_ms"],
            "p95_ms": load[name]["p95_ms"],
            "queries": queries.get(name),
            "ratio_to_floor": _ratio(load[name]["rps"], floor["rps"]),
            "errors": load[name]["errors"],
        }
        for name in PAGE_LABELS
    }
    worst = min(pages.values(), key=lambda p: p["rps"])
    results["pages"] = {
        "rps": worst["rps"],
        "p95_ms": worst["p95_ms"],
        "ratio_to_floor": worst["ratio_to_floor"],
        **pages,
    }
    ours, peer = _pooled(decisions["ours"]), _pooled(decisions["peer"])
    results["decision"] = {
        "statements": ours["statements"],
        "p50_ms": ours["p50_ms"],
        "peer_statements": peer["statements"],
        "peer_p50_ms": peer["p50_ms"],
        "ratio_to_peer": _ratio(ours["p50_ms"], peer["p50_ms"]),
        "decisions": ours["count"],
        "peer_decisions": peer["count"],
    }
    our_http = round(statistics.fmean(r["p50_ms"] for r in http["ours"]), 2)
    peer_http = round(statistics.fmean(r["p50_ms"] for r in http["peer"]), 2)
    results["http_decision"] = {
        "p50_ms": our_http,
        "peer_p50_ms": peer_http,
        "ratio_to_peer": _ratio(our_http, peer_http),
        "requests": sum(r["requests"] for r in http["ours"]),
        "errors": sum(r["errors"] for r in http["ours"]) + sum(r["errors"] for r in http["peer"]),
    }
    results["verify"] = verify
    results["export"] = export | {"json": export_json}
    results["sla_scan"] = sla
    results["run"] = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds),
        "seeded": seeded,
        "config": config,
    }
    return results


def write_json(results: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "latest.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def write(results: dict[str, Any], out: Path) -> None:
    """latest.json, a line of history.jsonl, and latest.png."""
    write_json(results, out)
    history = out / "history.jsonl"
    line = {
        "changes": results["changes"],
        "finished_at": results["run"]["finished_at"],
        **{
            f"{name}_p50_ms": results[name]["p50_ms"]
            for name in ("list_all", "list_requester", "inbox")
        },
        **{
            f"{name}_p95_ms": results[name]["p95_ms"]
            for name in ("list_all", "list_requester", "inbox")
        },
    }
    with history.open("a") as file:
        file.write(json.dumps(line) + "\n")
    draw(results, _history(history), out / "latest.png")


def _history(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} % of floor"


def table(results: dict[str, Any]) -> str:
    floor = results["floor"]
    rows = [
        ("figure", "req/s", "p50 ms", "p95 ms", "queries", "ratio"),
        (
            "floor (SELECT 1 behind the same stack)",
            f"{floor['rps']:.0f}",
            f"{floor['p50_ms']:.1f}",
            f"{floor['p95_ms']:.1f}",
            str(floor.get("queries", "")),
            "1",
        ),
    ]
    for name, label in ENDPOINT_LABELS.items():
        f = results[name]
        rows.append(
            (
                label,
                f"{f['rps']:.0f}",
                f"{f['p50_ms']:.1f}",
                f"{f['p95_ms']:.1f}",
                str(f["queries"]),
                _pct(f["ratio_to_floor"]),
            )
        )
    for key, label in (("list", "HTML change list"), ("inbox", "HTML inbox")):
        f = results["pages"][key]
        rows.append(
            (
                label,
                f"{f['rps']:.0f}",
                f"{f['p50_ms']:.1f}",
                f"{f['p95_ms']:.1f}",
                str(f["queries"]),
                _pct(f["ratio_to_floor"]),
            )
        )
    d, h = results["decision"], results["http_decision"]
    rows.append(
        (
            "decision, service layer (viewflow)",
            "",
            f"{d['p50_ms']:.1f} ({d['peer_p50_ms']:.1f})",
            "",
            f"{d['statements']} ({d['peer_statements']})",
            f"{d['ratio_to_peer']}× viewflow",
        )
    )
    rows.append(
        (
            "decision over HTTP (viewflow)",
            "",
            f"{h['p50_ms']:.1f} ({h['peer_p50_ms']:.1f})",
            "",
            "",
            f"{h['ratio_to_peer']}× viewflow",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    v, e, s = results["verify"], results["export"], results["sla_scan"]
    lines += [
        "",
        f"changes {results['changes']:,}, audit events {results['audit_events']:,}",
        f"verify_audit: {v['events']:,} events at {v['events_per_s']:,}/s, peak +{v['peak_mb']} MB",
        f"export (CSV through gunicorn): {e['events']:,} events at {e['events_per_s']:,}/s, "
        f"workers' peak +{e['peak_mb']} MB; JSON {e['json']['events_per_s']:,}/s",
        f"SLA scan: {s.get('actions', 0)} actions at {s.get('actions_per_s', 0)}/s, "
        f"{s.get('statements_per_action', 0)} statements each, peak +{s.get('peak_mb', 0)} MB",
    ]
    return "\n".join(lines)


def draw(results: dict[str, Any], history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle(
        f"Benchmark at {results['changes']:,} changes, {results['audit_events']:,} audit events"
    )

    ax = axes[0][0]
    names = [*ENDPOINT_LABELS, "pages.list", "pages.inbox"]
    values = [results[n]["rps"] for n in ENDPOINT_LABELS] + [
        results["pages"]["list"]["rps"],
        results["pages"]["inbox"]["rps"],
    ]
    ax.barh(names, values, color="#4c72b0")
    ax.axvline(results["floor"]["rps"], color="#c44e52", linestyle="--", label="floor")
    ax.set_xlabel("requests per second (higher is better)")
    ax.set_title("Throughput beside the floor")
    ax.invert_yaxis()
    ax.legend()

    ax = axes[0][1]
    d, h = results["decision"], results["http_decision"]
    labels = ["decision, service layer", "decision over HTTP"]
    ours = [d["p50_ms"], h["p50_ms"]]
    peer = [d["peer_p50_ms"], h["peer_p50_ms"]]
    positions = range(len(labels))
    ax.bar([p - 0.2 for p in positions], ours, width=0.4, label="ours", color="#4c72b0")
    ax.bar([p + 0.2 for p in positions], peer, width=0.4, label="viewflow 2.4", color="#dd8452")
    ax.set_xticks(list(positions), labels)
    ax.set_ylabel("p50 ms (lower is better)")
    ax.set_title(
        f"Beside viewflow: {d['statements']} vs {d['peer_statements']} statements per decision"
    )
    ax.legend()

    ax = axes[1][0]
    labels = ["verify", "export CSV", "export JSON", "SLA scan (actions)"]
    values = [
        results["verify"]["events_per_s"],
        results["export"]["events_per_s"],
        results["export"]["json"]["events_per_s"],
        results["sla_scan"].get("actions_per_s", 0),
    ]
    ax.bar(labels, values, color="#55a868")
    ax.axhline(100_000, color="#c44e52", linestyle="--", label="target: 100 000 events/s")
    ax.axhline(500, color="#8172b3", linestyle=":", label="target: 500 SLA actions/s")
    ax.legend(loc="lower left")
    ax.set_yscale("log")
    ax.set_ylabel("per second (log)")
    ax.set_title("Trail and SLA throughput")

    ax = axes[1][1]
    by_size: dict[int, dict[str, float]] = {}
    for line in history:
        by_size[line["changes"]] = line  # the latest run at each size
    sizes = sorted(by_size)
    for name in ("list_all", "list_requester", "inbox"):
        ax.plot(sizes, [by_size[s][f"{name}_p50_ms"] for s in sizes], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("changes (log)")
    ax.set_ylabel("p50 ms under load")
    ax.set_title("List and inbox latency against the number of changes")
    ax.legend()

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
