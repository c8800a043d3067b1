"""`make bench`: seed, serve, load, compare, report. Run from the repository root with the
bench's virtualenv: `bench/.venv/bin/python -m bench.run`.

Settings come from the environment (see bench/README.md): BENCH_CHANGES, BENCH_SECONDS, …
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import report
from bench.measure import PeakRss
from bench.progress import Progress

ROOT = Path(__file__).absolute().parent.parent
# Production redirects plain HTTP; its TLS-terminating proxy tells it the request came over HTTPS.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SystemExit(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class Config:
    changes: int
    seconds: int
    workers: int
    threads: int
    connections: int
    decisions: int
    http_decisions: int
    rounds: int
    port: int
    database_url: str
    peer_database_url: str
    redis_url: str
    reuse: bool
    out: Path

    @classmethod
    def from_env(cls) -> "Config":
        return cls(
            changes=_env_int("BENCH_CHANGES", 100_000),
            seconds=_env_int("BENCH_SECONDS", 10),
            workers=_env_int("BENCH_WORKERS", 3),
            threads=_env_int("BENCH_THREADS", 2),
            connections=_env_int("BENCH_CONNECTIONS", 8),
            decisions=_env_int("BENCH_DECISIONS", 840),
            http_decisions=_env_int("BENCH_HTTP_DECISIONS", 150),
            rounds=_env_int("BENCH_ROUNDS", 2),
            port=_env_int("BENCH_PORT", 18400),
            database_url=os.environ.get(
                "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cm_bench"
            ),
            peer_database_url=os.environ.get(
                "BENCH_PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cm_bench_peer"
            ),
            redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            reuse=os.environ.get("BENCH_REUSE", "") == "1",
            out=Path(os.environ.get("BENCH_OUT", str(ROOT / "var" / "bench"))),
        )

    @property
    def requests_dir(self) -> Path:
        return self.out / "requests"


def say(message: str) -> None:
    print(f"== {message}", file=sys.stderr, flush=True)


# --- processes ----------------------------------------------------------------------------


def django_env(config: Config, *, peer: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.peer.settings" if peer else "bench.settings",
            "DATABASE_URL": config.database_url,
            "BENCH_PEER_DATABASE_URL": config.peer_database_url,
            "REDIS_URL": config.redis_url,
            "SECRET_KEY": "bench-only-not-secret",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            # The same persistent connections as the production deployment (docker-compose).
            "DATABASE_CONN_MAX_AGE": "60",
            # Throttling stays on (its cost is part of every request) with a ceiling the load
            # never reaches.
            "API_THROTTLE_USER": "100000000/minute",
            "API_THROTTLE_ANON": "100000000/minute",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def phase(config: Config, name: str, *args: str, peer: bool = False) -> dict[str, Any]:
    """Run one measurement phase in its own process; returns its RESULT line."""
    module = "bench.peer.phases" if peer else "bench.phases"
    command = [PYTHON, "-m", module, name, *args]
    done = subprocess.run(
        command, cwd=ROOT, env=django_env(config, peer=peer), stdout=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {module} {name} failed (exit {done.returncode})")
    line = next((ln for ln in reversed(done.stdout.splitlines()) if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"phase {module} {name} printed no result")
    return json.loads(line.removeprefix("RESULT "))


def manage(config: Config, *args: str, peer: bool = False) -> None:
    command = [PYTHON, "-m", "django", *args]
    subprocess.run(command, cwd=ROOT, env=django_env(config, peer=peer), check=True)


# --- databases ------------------------------------------------------------------------------


def _admin_sql(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def _db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _seeded(url: str) -> int:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT changes FROM bench_seed").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return 0


def prepare_database(config: Config) -> dict[str, Any]:
    url = config.database_url
    name = _db_name(url)
    if config.reuse and _seeded(url) == config.changes:
        say(f"reusing {name}: {config.changes:,} changes already seeded (BENCH_REUSE=1)")
        manage(config, "migrate", "--noinput", "-v0")
        return {"reused": True}
    say(f"creating {name} and seeding {config.changes:,} changes")
    _admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_sql(url, f'CREATE DATABASE "{name}"')
    manage(config, "migrate", "--noinput", "-v0")
    seeded = phase(config, "seed", "--changes", str(config.changes))
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_seed (changes integer, audit_events bigint)")
        conn.execute(
            "INSERT INTO bench_seed VALUES (%s, %s)", (seeded["changes"], seeded["audit_events"])
        )
    return seeded


def prepare_peer_database(config: Config) -> None:
    name = _db_name(config.peer_database_url)
    _admin_sql(config.peer_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_sql(config.peer_database_url, f'CREATE DATABASE "{name}"')
    manage(config, "migrate", "--noinput", "-v0", peer=True)


def flush_redis(config: Config) -> None:
    """The benchmark's own Redis database only: the outbox nudges that piled up unconsumed."""
    import redis

    redis.Redis.from_url(config.redis_url).flushdb()


def count_events(config: Config) -> int:
    import psycopg

    with psycopg.connect(config.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM approvals_auditevent").fetchone()
        return int(row[0]) if row else 0


# --- the web server -------------------------------------------------------------------------


class Server:
    """gunicorn with production settings (sync workers, as the deployment image runs it)."""

    def __init__(self, config: Config, *, port: int, peer: bool = False) -> None:
        self.config = config
        self.port = port
        self.peer = peer
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Server":
        wsgi = "bench.peer.wsgi:application" if self.peer else "changemgmt.wsgi:application"
        log = self.config.out / ("gunicorn-peer.log" if self.peer else "gunicorn.log")
        command = [
            str(BIN / "gunicorn"),
            wsgi,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.config.workers),
            "--access-logfile",
            str(log.with_suffix(".access.log")),
            "--error-logfile",
            str(log),
            "--timeout",
            "120",
        ]
        # The application logs every request as production does; into the log, not the terminal.
        self._log = log.with_suffix(".app.log").open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=django_env(self.config, peer=self.peer),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start-up; see {log}")
            probe = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/bench/floor/", headers=PROXY_HEADERS
            )
            try:
                urllib.request.urlopen(probe, timeout=2)
            except urllib.error.HTTPError:
                return self  # 401 without a token: the server answers
            except OSError:
                time.sleep(0.3)
                continue
            return self
        raise SystemExit(f"gunicorn did not answer on port {self.port}; see {log}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        master = self.process.pid
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(stat.parent.name))
        return pids

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# --- load -----------------------------------------------------------------------------------


def wrk(
    config: Config,
    *,
    port: int,
    requests: str,
    seconds: int,
    once: bool = False,
    threads: int | None = None,
    connections: int | None = None,
    label: str,
) -> dict[str, Any]:
    threads = threads or config.threads
    connections = max(connections or config.connections, threads)
    file = config.requests_dir / f"{requests}.tsv"
    env = dict(os.environ, BENCH_REQUESTS=str(file), BENCH_THREADS=str(threads))
    if once:
        env["BENCH_ONCE"] = "1"
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "60s",
        "-s",
        str(ROOT / "bench" / "load.lua"),
        f"http://127.0.0.1:{port}",
    ]
    print(f"  {label}: up to {seconds} s, {connections} connections", file=sys.stderr, flush=True)
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT "))
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    seconds_taken = raw["duration_us"] / 1e6
    result = {
        "rps": round(raw["requests"] / seconds_taken, 1) if seconds_taken else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "requests": raw["requests"],
        "errors": raw["status_errors"] + raw["socket_errors"],
    }
    if result["errors"]:
        print(f"  {label}: {result['errors']} requests failed", file=sys.stderr, flush=True)
    if once and raw["requests"] >= sum(1 for _ in file.open()):
        print(
            f"  {label}: every prepared request was sent before the round ended; "
            "req/s is understated",
            file=sys.stderr,
            flush=True,
        )
    return result


ENDPOINTS = ("list_all", "list_requester", "inbox", "detail", "approve")
PAGES = ("page_list", "page_inbox")


def load_rounds(config: Config, *, port: int) -> dict[str, dict[str, Any]]:
    """Every endpoint under the same concurrent load, the floor measured before and after."""
    results: dict[str, dict[str, Any]] = {}
    wrk(config, port=port, requests="floor", seconds=2, label="warm-up")
    names = ["floor", *ENDPOINTS, *PAGES]
    started = time.monotonic()
    floors = []
    for position, name in enumerate([*names, "floor"], start=1):
        result = wrk(
            config,
            port=port,
            requests=name,
            seconds=config.seconds,
            once=name == "approve",
            label=f"round {position}/{len(names) + 1} {name}",
        )
        if name == "floor":
            floors.append(result)
        else:
            results[name] = result
        left = (len(names) + 1 - position) * config.seconds
        elapsed = time.monotonic() - started
        print(
            f"  load: {position}/{len(names) + 1} rounds in {elapsed:.0f} s — about {left} s left",
            file=sys.stderr,
            flush=True,
        )
    results["floor"] = {
        "rps": round(sum(f["rps"] for f in floors) / len(floors), 1),
        "p50_ms": round(sum(f["p50_ms"] for f in floors) / len(floors), 2),
        "p95_ms": round(sum(f["p95_ms"] for f in floors) / len(floors), 2),
        "rounds_rps": [f["rps"] for f in floors],
    }
    return results


def sequential(config: Config, *, port: int, requests: str, label: str) -> dict[str, Any]:
    """One client sending one request at a time over one kept-alive connection (wrk cannot
    stop before its duration ends, so a fixed list of decisions is sent from here)."""
    import http.client

    from bench.measure import percentile

    lines = (config.requests_dir / f"{requests}.tsv").read_text().splitlines()
    print(f"  {label}: {len(lines)} decisions, one at a time", file=sys.stderr, flush=True)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times, errors = [], 0
    for line in lines:
        method, path, header, value, body = line.split("\t")
        headers = {header: value, "Content-Type": "application/json", **PROXY_HEADERS}
        started = time.perf_counter()
        connection.request(method, path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        errors += response.status != 200
    connection.close()
    if errors:
        print(f"  {label}: {errors} decisions failed", file=sys.stderr, flush=True)
    return {
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "requests": len(times),
        "errors": errors,
    }


def http_decisions(config: Config, *, ours: int, peer: int) -> dict[str, Any]:
    """The approve path of each side, one request at a time, in alternating rounds."""
    our_rounds, peer_rounds = [], []
    for number in range(1, config.rounds + 1):
        say(f"HTTP decisions, round {number}/{config.rounds}")
        our_rounds.append(
            sequential(config, port=ours, requests=f"http_decision_{number}", label="ours")
        )
        peer_rounds.append(
            sequential(config, port=peer, requests=f"peer_http_decision_{number}", label="viewflow")
        )
    return {"ours": our_rounds, "peer": peer_rounds}


def export_through_server(
    config: Config, server: Server, *, token: str, kind: str, total: int
) -> dict[str, Any]:
    """Stream the whole trail as an auditor would; memory is the workers' growth meanwhile."""
    import httpx

    url = f"http://127.0.0.1:{server.port}/api/v1/audit-events/export/?format={kind}"
    lines = 0
    with PeakRss(server.worker_pids) as peak:
        started = time.perf_counter()
        headers = {"Authorization": token, **PROXY_HEADERS}
        with httpx.stream("GET", url, headers=headers, timeout=3600) as response:
            response.raise_for_status()
            progress = Progress(f"export {kind}", total, unit=" events")
            for chunk in response.iter_lines():
                lines += 1 if chunk else 0
                if lines % 10_000 == 0:
                    progress.advance(10_000)
        seconds = time.perf_counter() - started
    events = lines - 1 if kind == "csv" else lines  # CSV: header row; JSON: one event a line
    return {
        "events": events,
        "events_per_s": round(events / seconds) if seconds else 0,
        "peak_mb": peak.peak_mb,
        "seconds": round(seconds, 2),
    }


# --- the run --------------------------------------------------------------------------------


def split_rounds(config: Config, name: str, rounds: int) -> None:
    """Split a request file into `rounds` files of whole changes (three decisions each)."""
    lines = (config.requests_dir / f"{name}.tsv").read_text().splitlines(keepends=True)
    per_round = max(3, len(lines) // rounds // 3 * 3)
    for number in range(rounds):
        chunk = lines[number * per_round : (number + 1) * per_round]
        (config.requests_dir / f"{name}_{number + 1}.tsv").write_text("".join(chunk))


def main() -> None:
    config = Config.from_env()
    config.out.mkdir(parents=True, exist_ok=True)
    config.requests_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    say(f"benchmark at {config.changes:,} changes (results in {config.out})")
    seeded = prepare_database(config)
    prepare_peer_database(config)
    flush_redis(config)
    http_changes = max(1, config.http_decisions // 3) * config.rounds
    say("preparing users, sessions, changes to decide and request files")
    prepared = phase(
        config,
        "prepare",
        "--approve-pool",
        str(config.seconds * 250),
        "--http-pool",
        str(http_changes),
        "--out",
        str(config.requests_dir),
    )
    phase(
        config, "setup", "--count", str(http_changes), "--out", str(config.requests_dir), peer=True
    )
    split_rounds(config, "http_decision", config.rounds)
    split_rounds(config, "peer_http_decision", config.rounds)
    say("statements per request")
    queries = phase(config, "queries", "--out", str(config.requests_dir))
    say("load rounds")
    with Server(config, port=config.port) as server:
        load = load_rounds(config, port=config.port)
        with Server(config, port=config.port + 1, peer=True):
            http = http_decisions(config, ours=config.port, peer=config.port + 1)
        say("export through gunicorn")
        total = count_events(config)
        token = prepared["audrey"]
        export = export_through_server(config, server, token=token, kind="csv", total=total)
        export_json = export_through_server(config, server, token=token, kind="json", total=total)
    say("decisions through the service layer, alternating with viewflow")
    per_round = max(3, config.decisions // config.rounds)
    ours, peers = [], []
    for number in range(1, config.rounds + 1):
        say(f"decisions, round {number}/{config.rounds}")
        ours.append(phase(config, "decide", "--count", str(per_round), "--seed", str(100 + number)))
        peers.append(phase(config, "decide", "--count", str(per_round), peer=True))
    say(f"audit verification of {count_events(config):,} events")
    verify = phase(config, "verify")
    say("SLA scan")
    sla = phase(config, "sla_scan")
    flush_redis(config)
    results = report.assemble(
        config=config.__dict__ | {"out": str(config.out)},
        changes=config.changes,
        audit_events=count_events(config),
        seeded=seeded,
        queries=queries,
        load=load,
        http=http,
        decisions={"ours": ours, "peer": peers},
        verify=verify,
        export=export,
        export_json=export_json,
        sla=sla,
        seconds=time.monotonic() - started,
    )
    report.write(results, config.out)
    print(report.table(results))
    say(f"wrote {config.out / 'latest.json'} and {config.out / 'latest.png'}")


if __name__ == "__main__":
    main()
