"""The peer's measurements: `python -m bench.peer.phases <phase>` with bench.peer.settings;
the last line printed is `RESULT <json>`."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import django

ROUTE = ("fiona", "tom", "carl")
APPROVE_BODY = json.dumps({"comment": "Fine by me."})


def _users() -> dict[str, Any]:
    from django.contrib.auth.models import User

    return {name: User.objects.get_or_create(username=name)[0] for name in ROUTE}


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Users and tokens, and the request file of sequential HTTP decisions."""
    from rest_framework.authtoken.models import Token

    from bench.peer.services import processes_start

    users = _users()
    tokens = {name: Token.objects.get_or_create(user=user)[0].key for name, user in users.items()}
    processes = processes_start(count=args.count)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "\t".join(
            (
                "POST",
                f"/peer/processes/{pk}/approve/",
                "Authorization",
                f"Token {tokens[name]}",
                APPROVE_BODY,
            )
        )
        + "\n"
        for pk in processes
        for name in ROUTE
    ]
    (out / "peer_http_decision.tsv").write_text("".join(lines))
    return {"processes": len(processes)}


def decide(args: argparse.Namespace) -> dict[str, Any]:
    from bench.measure import timed_calls
    from bench.peer.services import process_decide, processes_start

    users = _users()
    for pk in processes_start(count=2):  # warm up
        for name in ROUTE:
            process_decide(actor=users[name], process_id=pk)
    processes = processes_start(count=max(1, args.count // 3))
    calls = [
        (
            lambda pk=pk, user=users[name]: process_decide(
                actor=user, process_id=pk, comment="Fine by me."
            )
        )
        for pk in processes
        for name in ROUTE
    ]
    return timed_calls(calls)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.peer.phases")
    parser.add_argument("phase", choices=["setup", "decide"])
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--out", default="var/bench/requests")
    args = parser.parse_args(argv)
    django.setup()
    result = {"setup": setup, "decide": decide}[args.phase](args)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
