"""The soak's own servers: a PostgreSQL cluster, Redis, gunicorn, a Celery worker and beat, all on
local ports from SOAK_PORT_BASE and with their files under var/soak/. Nothing here touches
another PostgreSQL or Redis."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).absolute().parent.parent
BIN = Path(sys.executable).parent
FAKETIME_LIBRARY = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
DATABASE = "soak"
RUNTIME_ROLE = "soak_app"


def say(message: str) -> None:
    print(f"== {message}", file=sys.stderr, flush=True)


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(step)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s")


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    located = shutil.which(name)
    if located is None:
        raise RuntimeError(f"{name} not found (install PostgreSQL's server binaries)")
    return located


def as_postgres(command: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: run them as the `postgres` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class Ports:
    base: int

    @property
    def postgres(self) -> int:
        return self.base + 1

    @property
    def redis(self) -> int:
        return self.base + 2

    @property
    def web(self) -> int:
        return self.base + 3

    @property
    def smtp(self) -> int:
        return self.base + 4

    @property
    def receiver(self) -> int:
        return self.base + 5

    @property
    def hanging(self) -> int:
        return self.base + 6


@dataclass
class Servers:
    ports: Ports
    var: Path
    web_workers: int = 3
    worker_concurrency: int = 2
    secret_key: str = field(default_factory=lambda: os.urandom(32).hex())
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    attachments_mount: str = ""
    # Like the deployment's `restart: unless-stopped`: a worker, beat or gunicorn that exits on
    # its own is started again (counted; the table shows how often).
    restarts: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    supervising: bool = False

    # --- paths and environment -----------------------------------------------------------------

    @property
    def pgdata(self) -> Path:
        return self.var / "pg"

    @property
    def attachments(self) -> Path:
        return self.var / "attachments"

    @property
    def logs(self) -> Path:
        return self.var / "logs"

    @property
    def owner_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.ports.postgres}/{DATABASE}"

    @property
    def runtime_url(self) -> str:
        return f"postgres://{RUNTIME_ROLE}@127.0.0.1:{self.ports.postgres}/{DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    def env(self) -> dict[str, str]:
        """Production settings (plus the soak's poison-refusing consumer) on the soak's servers.
        Intervals are short so that recovery is seen in seconds rather than minutes."""
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "soak.settings",
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": self.runtime_url,
                "MIGRATE_DATABASE_URL": self.owner_url,
                "DATABASE_CONN_MAX_AGE": "60",
                "REDIS_URL": self.redis_url,
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "VAR_DIR": str(self.var / "app"),
                "ATTACHMENT_ROOT": str(self.attachments),
                "AUDIT_SIGNING_KEY": str(self.var / "audit-signing-key.pem"),
                "AUDIT_SIGNING_KEY_CREATE": "1",
                "AUDIT_CHECKPOINT_DIR": str(self.var / "checkpoints"),
                "AUDIT_CHECKPOINT_SECONDS": "30",
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(self.ports.smtp),
                "EMAIL_TIMEOUT": "5",
                "SITE_URL": self.base_url,
                "WEBHOOK_REQUIRE_HTTPS": "0",
                "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
                "WEBHOOK_TIMEOUT_SECONDS": "3",
                # A claim left by a killed worker is taken over after this long by the
                # database's clock, so the final settle need not wait ten minutes.
                "EMAIL_CLAIM_TIMEOUT_SECONDS": "45",
                "WEBHOOK_SENDING_TIMEOUT_SECONDS": "45",
                # Retries and the sweep's grace on the same compressed scale as the SLAs.
                "EMAIL_RETRY_BASE_SECONDS": "5",
                "EMAIL_RETRY_CAP_SECONDS": "30",
                "WEBHOOK_BACKOFF_BASE_SECONDS": "5",
                "WEBHOOK_BACKOFF_CAP_SECONDS": "30",
                "WEBHOOK_QUEUED_GRACE_SECONDS": "30",
                "SLA_SCAN_INTERVAL_SECONDS": "5",
                "DISPATCH_INTERVAL_SECONDS": "5",
                "WEBHOOK_SWEEP_INTERVAL_SECONDS": "5",
                "HEARTBEAT_INTERVAL_SECONDS": "10",
                "OUTBOX_MAX_ATTEMPTS": "1",
                "API_THROTTLE_USER": "100000000/minute",
                "API_THROTTLE_ANON": "100000000/minute",
                "WEB_CONCURRENCY": str(self.web_workers),
                "GUNICORN_THREADS": "2",
                "GUNICORN_TIMEOUT": "30",
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json",
            }
        )
        env.pop("FAKETIME", None)
        env.pop("LD_PRELOAD", None)
        return env

    def log_file(self, name: str):  # noqa: ANN201 - a text file handle
        self.logs.mkdir(parents=True, exist_ok=True)
        return open(self.logs / f"{name}.log", "a", buffering=1)  # noqa: SIM115

    # --- PostgreSQL -------------------------------------------------------------------------------

    def postgres_init(self) -> None:
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(parents=True)
        sockets = self.var / "pg-socket"
        sockets.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.pgdata, "postgres", "postgres")
            shutil.chown(sockets, "postgres", "postgres")
            self.logs.mkdir(parents=True, exist_ok=True)
        say(f"PostgreSQL cluster in {self.pgdata} on port {self.ports.postgres}")
        subprocess.run(
            as_postgres(
                [postgres_bin("initdb"), "-D", str(self.pgdata), "-U", "postgres", "-A", "trust"]
                + ["--no-sync", "-E", "UTF8", "--locale=C"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.postgres_start()
        self._psql(f"CREATE DATABASE {DATABASE}")
        self._psql(f"CREATE ROLE {RUNTIME_ROLE} LOGIN")

    def postgres_start(self) -> None:
        options = (
            f"-p {self.ports.postgres} -c listen_addresses=127.0.0.1 "
            f"-k {self.var / 'pg-socket'} -c max_connections=60 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            as_postgres(
                [postgres_bin("pg_ctl"), "-D", str(self.pgdata), "-o", options, "-w", "-t", "60"]
                + ["-l", str(self.pgdata / "server.log"), "start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def postgres_stop(self, mode: str = "fast") -> None:
        subprocess.run(
            as_postgres(
                [postgres_bin("pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60"]
                + ["stop"]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def postgres_restart(self) -> None:
        self.postgres_stop()
        self.postgres_start()

    def _psql(self, sql: str) -> None:
        import psycopg

        admin = f"postgres://postgres@127.0.0.1:{self.ports.postgres}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql)

    def manage(self, *args: str, owner: bool = False) -> None:
        env = self.env()
        if owner:
            env["DATABASE_URL"] = self.owner_url
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def migrate_and_seed(self) -> None:
        say("migrate, grant the runtime role, seed the demo users and policies")
        self.manage("migrate", "--noinput", "-v0", owner=True)
        self.manage("grant_runtime_role", RUNTIME_ROLE, owner=True)
        self.manage("seed_demo", owner=True)

    # --- Redis ------------------------------------------------------------------------------------

    def redis_start(self) -> None:
        import redis

        self.processes["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(self.ports.redis), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=self.log_file("redis"),
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis.from_url(self.redis_url)
        wait_until(lambda: bool(client.ping()), timeout=20, what="Redis")

    def redis_stop(self) -> None:
        with self.lock:
            self._stop("redis", signal.SIGTERM)

    def redis_flushall(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushall()

    # --- the application --------------------------------------------------------------------------

    def web_start(self) -> None:
        import requests

        self.processes["web"] = subprocess.Popen(
            [str(BIN / "gunicorn"), "changemgmt.wsgi", "-c", "gunicorn.conf.py"]
            + ["--bind", f"127.0.0.1:{self.ports.web}"],
            cwd=ROOT,
            env=self.env(),
            stdout=self.log_file("web"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: requests.get(f"{self.base_url}/health/live/", timeout=2).status_code < 500,
            timeout=60,
            what="gunicorn",
        )

    def web_worker_pids(self) -> list[int]:
        web = self.processes["web"]
        children = Path(f"/proc/{web.pid}/task/{web.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_start(self, *, faketime: str = "") -> None:
        self.processes["worker"] = process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "changemgmt", "worker", "--loglevel=WARNING"]
            + [f"--concurrency={self.worker_concurrency}", "--without-gossip", "--without-mingle"]
            + ["-n", f"soak-{self.ports.base}@%h"],
            cwd=ROOT,
            env=self._faked(faketime),
            stdout=self.log_file("worker"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.faketime = faketime  # type: ignore[attr-defined]

    def worker_child_pids(self) -> list[int]:
        worker = self.processes["worker"]
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_kill(self) -> None:
        """kill -9 the whole worker (its main process and pool children) and start a new one."""
        with self.lock:
            worker = self.processes.pop("worker")
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            time.sleep(1)
            self.worker_start()

    def supervise(self) -> None:
        self.supervising = True
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        starters: dict[str, Callable[..., None]] = {
            "worker": self.worker_start,
            "beat": self.beat_start,
            "web": self.web_start,
        }
        while self.supervising:
            time.sleep(1)
            with self.lock:
                for name, start in starters.items():
                    process = self.processes.get(name)
                    if process is not None and process.poll() is not None and self.supervising:
                        self.restarts[name] = self.restarts.get(name, 0) + 1
                        say(f"{name} exited ({process.returncode}); started again")
                        if name == "web":
                            self.web_start()
                        else:
                            start(faketime=getattr(process, "faketime", ""))

    def beat_start(self, *, faketime: str = "") -> None:
        schedule = self.var / "celerybeat-schedule"
        for stale in self.var.glob("celerybeat-schedule*"):
            stale.unlink()
        self.processes["beat"] = process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "changemgmt", "beat", "--loglevel=WARNING"]
            + [f"--schedule={schedule}"],
            cwd=ROOT,
            env=self._faked(faketime),
            stdout=self.log_file("beat"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.faketime = faketime  # type: ignore[attr-defined]

    def _faked(self, faketime: str) -> dict[str, str]:
        env = self.env()
        if faketime:
            env["LD_PRELOAD"] = FAKETIME_LIBRARY
            env["FAKETIME"] = faketime
        return env

    def restart_scheduling(self, *, faketime: str = "") -> None:
        """Worker and beat again, optionally with a shifted clock (libfaketime, e.g. "+3600")."""
        with self.lock:
            for name in ("beat", "worker"):
                self._stop(name, signal.SIGTERM, timeout=20)
            self.worker_start(faketime=faketime)
            self.beat_start(faketime=faketime)

    def _stop(self, name: str, sig: int, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig) if name != "redis" else process.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL) if name != "redis" else process.kill()
            process.wait()

    # --- attachments on a small filesystem ----------------------------------------------------------

    def attachments_mount_small(self, size: str = "2m") -> str:
        """A 2 MiB tmpfs for attachments when mounting works (root), else a loop device with a
        small ext4 image; returns which one."""
        self.attachments.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.attachments)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if mounted.returncode == 0:
            self.attachments_mount = "tmpfs"
            return "tmpfs (2 MiB)"
        image = self.var / "attachments.img"
        subprocess.run(["truncate", "-s", "4M", str(image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
        loop = subprocess.run(["mount", "-o", "loop", str(image), str(self.attachments)])
        if loop.returncode != 0:
            raise RuntimeError("neither a tmpfs nor a loop device could be mounted")
        self.attachments_mount = "loop"
        return "loop device (4 MiB ext4)"

    def attachments_unmount(self) -> None:
        if self.attachments_mount:
            subprocess.run(["umount", "-l", str(self.attachments)], check=False)
            self.attachments_mount = ""

    # --- everything -----------------------------------------------------------------------------------

    def start_all(self, *, small_attachments: bool) -> str:
        if self.var.exists():
            subprocess.run(["umount", "-l", str(self.attachments)], stderr=subprocess.DEVNULL)
            shutil.rmtree(self.var, ignore_errors=True)
        self.var.mkdir(parents=True)
        mount = self.attachments_mount_small() if small_attachments else "none"
        self.attachments.mkdir(parents=True, exist_ok=True)
        self.postgres_init()
        self.redis_start()
        self.migrate_and_seed()
        say(f"gunicorn on {self.base_url}, a Celery worker and beat")
        self.web_start()
        self.worker_start()
        self.beat_start()
        return mount

    def stop_all(self) -> None:
        self.supervising = False
        for name in ("beat", "worker", "web"):
            self._stop(name, signal.SIGTERM, timeout=20)
        self.redis_stop()
        self.postgres_stop()
        self.attachments_unmount()
