"""Several processes write to one file-based SQLite database at once through the services, the
way `make run` has the web process, the worker and beat share it. Prints the errors seen (one per
line) and exits 1 when there was any.

    python -m tests.hardening.sqlite_writers DB_PATH [WRITERS] [ROUNDS]
"""

import multiprocessing
import os
import sys
import traceback


def _setup(db_path: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "changemgmt.settings.test"
    import django

    django.setup()


def _writer(db_path: str, username: str, shared_id: int, rounds: int, errors) -> None:
    _setup(db_path)
    from approvals import workflow
    from approvals.exceptions import DomainError
    from tests.helpers import new_change, user

    actor = user(username)
    for n in range(rounds):
        try:
            draft = new_change(actor, title=f"{username} {n}")
            workflow.change_submit(actor=actor, change_id=draft.pk)
            workflow.change_comment(actor=actor, change_id=shared_id, text=f"{username} {n}")
        except DomainError:
            pass  # a refusal is an answer, not a failure
        except Exception:
            errors.put(f"{username}: {traceback.format_exc(limit=3)!r}")


def _drainer(db_path: str, rounds: int, errors) -> None:
    _setup(db_path)
    from approvals.outbox import events_dispatch

    for _ in range(rounds):
        try:
            events_dispatch()
        except Exception:
            errors.put(f"drain: {traceback.format_exc(limit=3)!r}")


def main(db_path: str, writers: int, rounds: int) -> int:
    _setup(db_path)
    from django.core.management import call_command
    from django.db import connections

    from approvals.demo import seed
    from tests.helpers import submitted, user

    call_command("migrate", verbosity=0)
    seed(blackout=False)
    shared = submitted(user("alice"))
    connections.close_all()

    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    names = ["alice", "bob", "hank", "fiona", "olga", "hugo", "tom", "rita"][:writers]
    processes = [
        context.Process(target=_writer, args=(db_path, name, shared.pk, rounds, errors))
        for name in names
    ]
    processes.append(context.Process(target=_drainer, args=(db_path, rounds, errors)))
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    failures += [f"exit code {p.exitcode}" for p in processes if p.exitcode]
    print("\n".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(
        main(
            sys.argv[1],
            int(sys.argv[2]) if len(sys.argv) > 2 else 4,
            int(sys.argv[3]) if len(sys.argv) > 3 else 20,
        )
    )
