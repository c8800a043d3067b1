"""Measurements run inside Django with the bench settings, one phase per process so that each
phase's memory is its own: `python -m bench.phases <phase> [options]`; the last line printed is
`RESULT <json>`."""

import argparse
import inspect
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

# What the TLS-terminating proxy in front of production adds to every request.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def _client() -> Any:
    from django.test import Client

    return Client(headers=PROXY_HEADERS)


def _emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def seed(args: argparse.Namespace) -> dict[str, Any]:
    from bench.seed import seed_changes

    result = seed_changes(changes=args.changes, seed=args.seed)
    return {
        "changes": result.changes,
        "audit_events": result.audit_events,
        "seconds": result.seconds,
    }


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def _authenticator_code(username: str) -> str:
    """The code an authenticator app shows, enrolling one first for a role that must use
    two-step sign-in (production requires it of change managers and auditors). The code is the
    next time step's, which the device accepts (one step of drift), because enrolment has just
    used the current one."""
    from django_otp.oath import totp

    from approvals.identity import mfa

    user = _user(username)
    device = mfa.authenticator_of(user)
    if device is None:
        device = mfa.totp_enrolment_start(user=user)
        now = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        mfa.totp_enrolment_confirm(user=user, token=f"{now:06d}")
        device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + 1):06d}"


def _token(username: str) -> str:
    """A token asked for as an integrator does (POST /api/v1/auth/token/), with the
    authenticator's code where the role requires two-step sign-in."""

    from approvals.demo import DEMO_PASSWORD
    from approvals.identity import mfa

    body = {"username": username, "password": DEMO_PASSWORD}
    if mfa.mfa_required(_user(username)):
        body["otp"] = _authenticator_code(username)
    response = _client().post(
        "/api/v1/auth/token/", data=json.dumps(body), content_type="application/json"
    )
    if response.status_code != 200:
        raise SystemExit(f"no token for {username}: {response.status_code}")
    return str(response.json()["token"])


def _session(username: str) -> str:
    from django.conf import settings

    from approvals.identity import mfa

    client = _client()
    client.force_login(_user(username))
    # A session past the second step of sign-in, for the roles that must take it.
    session = client.session
    if session.pop(mfa.PENDING_SESSION_KEY, None) is not None:
        session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


APPROVE_BODY = json.dumps({"comment": "Fine by me."})
ROUTE = ("fiona", "tom", "carl")  # who decides the three steps of a pooled change


def _line(method: str, path: str, header: str, value: str, body: str = "") -> str:
    return "\t".join((method, path, header, value, body)) + "\n"


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Tokens, sessions, changes to approve and the request files wrk reads."""
    from approvals.choices import ChangeState
    from approvals.models import ChangeRequest
    from bench.seed import seed_pool

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tokens = {
        name: f"Token {_token(name)}"
        for name in ("mia", "alice", "hank", "fiona", "tom", "carl", "audrey")
    }
    cookie = {name: f"{_cookie_name()}={_session(name)}" for name in ("mia", "hank")}
    auth = "Authorization"
    fixed = {
        "floor": _line("GET", "/bench/floor/", auth, tokens["mia"]),
        "list_all": _line("GET", "/api/v1/changes/?page_size=50", auth, tokens["mia"]),
        "list_requester": _line("GET", "/api/v1/changes/?page_size=50", auth, tokens["alice"]),
        "inbox": _line("GET", "/api/v1/inbox/?page_size=50", auth, tokens["hank"]),
        "page_list": _line("GET", "/changes/", "Cookie", cookie["mia"]),
        "page_inbox": _line("GET", "/inbox/", "Cookie", cookie["hank"]),
    }
    for name, line in fixed.items():
        (out / f"{name}.tsv").write_text(line)
    # Drafts are their requester's only (404 to anyone else): the detail round reads the rest.
    sample = list(
        ChangeRequest.objects.exclude(state=ChangeState.DRAFT)
        .order_by("?")
        .values_list("pk", flat=True)[:500]
    )
    (out / "detail.tsv").write_text(
        "".join(_line("GET", f"/api/v1/changes/{pk}/", auth, tokens["mia"]) for pk in sample)
    )
    approvable = seed_pool(count=args.approve_pool, seed=args.seed)
    (out / "approve.tsv").write_text(
        "".join(
            _line("POST", f"/api/v1/changes/{pk}/approve/", auth, tokens["fiona"], APPROVE_BODY)
            for pk in approvable
        )
    )
    route = seed_pool(count=args.http_pool, seed=args.seed + 1)
    (out / "http_decision.tsv").write_text(
        "".join(
            _line("POST", f"/api/v1/changes/{pk}/approve/", auth, tokens[name], APPROVE_BODY)
            for pk in route
            for name in ROUTE
        )
    )
    audrey = tokens["audrey"]
    return {"approve_pool": len(approvable), "http_pool": len(route), "audrey": audrey}


def _cookie_name() -> str:
    from django.conf import settings

    return settings.SESSION_COOKIE_NAME


def queries(args: argparse.Namespace) -> dict[str, Any]:
    """Statements per request of each endpoint, counted in-process through the whole stack."""

    from bench.counter import counting

    out = Path(args.out)
    counts: dict[str, int] = {}
    for name in (
        "floor",
        "list_all",
        "list_requester",
        "inbox",
        "detail",
        "page_list",
        "page_inbox",
    ):
        method, path, header, value, _body = (
            (out / f"{name}.tsv").read_text().splitlines()[0].split("\t")
        )
        client = _client()
        extra = {"HTTP_AUTHORIZATION": value} if header == "Authorization" else {}
        if header == "Cookie":
            key, _, session = value.partition("=")
            client.cookies[key] = session
        client.get(path, **extra)  # warm caches (translations, templates)
        with counting() as counter:
            response = client.get(path, **extra)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {path} answered {response.status_code}")
        counts[name] = counter.count
    from bench.seed import seed_pool

    pk = seed_pool(count=1, seed=args.seed + 7)[0]
    fiona = (out / "approve.tsv").read_text().split("\t")[3]
    with counting() as counter:
        response = _client().post(
            f"/api/v1/changes/{pk}/approve/",
            data=APPROVE_BODY,
            content_type="application/json",
            HTTP_AUTHORIZATION=fiona,
        )
    if response.status_code != 200:
        raise SystemExit(f"approve answered {response.status_code}: {response.content[:300]!r}")
    counts["approve"] = counter.count
    return counts


def _decide_call(change_id: int, username: str, users: dict[str, Any]) -> Callable[[], Any]:
    from approvals.workflow import step_decide

    params = inspect.signature(step_decide).parameters
    kwargs: dict[str, Any] = {"actor": users[username], "change_id": change_id}
    kwargs["decision"] = "approve"
    if "comment" in params:
        kwargs["comment"] = "Fine by me."
    return lambda: step_decide(**kwargs)


def decide(args: argparse.Namespace) -> dict[str, Any]:
    """Decisions through the service layer on the three-step route, each counted and timed."""
    from bench.measure import timed_calls
    from bench.seed import seed_pool

    changes = seed_pool(count=max(1, args.count // 3), seed=args.seed)
    users = {name: _user(name) for name in ROUTE}
    calls = [_decide_call(pk, name, users) for pk in changes for name in ROUTE]
    _warm(users)
    return timed_calls(calls)


def _warm(users: dict[str, Any]) -> None:
    from bench.seed import seed_pool

    for pk in seed_pool(count=2, seed=99):
        for name in ROUTE:
            _decide_call(pk, name, users)()


def verify(args: argparse.Namespace) -> dict[str, Any]:
    from approvals.audit import verify_chain
    from bench.measure import own_peak

    with own_peak() as peak:
        started = time.perf_counter()
        result = verify_chain()
        seconds = time.perf_counter() - started
    return {
        "events": result.events_checked,
        "events_per_s": round(result.events_checked / seconds),
        "peak_mb": peak.peak_mb,
        "ok": result.ok,
        "seconds": round(seconds, 2),
    }


def sla_scan(args: argparse.Namespace) -> dict[str, Any]:
    """One SLA scan over the seeded backlog, rolled back afterwards so every run sees the same."""
    from django.db import transaction

    from bench.counter import counting
    from bench.measure import own_peak
    from notifications.sla import sla_scan as scan

    class Rollback(Exception):
        pass

    result: dict[str, Any] = {}
    try:
        with transaction.atomic():
            with own_peak() as peak, counting() as counter:
                started = time.perf_counter()
                actions = scan()
                seconds = time.perf_counter() - started
            result = {
                "actions": actions,
                "actions_per_s": round(actions / seconds, 1) if seconds else 0,
                "statements_per_action": round(counter.count / actions, 2) if actions else 0,
                "peak_mb": peak.peak_mb,
                "seconds": round(seconds, 2),
            }
            raise Rollback
    except Rollback:
        pass
    return result


PHASES = {
    "seed": seed,
    "prepare": prepare,
    "queries": queries,
    "decide": decide,
    "verify": verify,
    "sla_scan": sla_scan,
}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.phases")
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--changes", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--approve-pool", type=int, default=0)
    parser.add_argument("--http-pool", type=int, default=0)
    parser.add_argument("--out", default="var/bench/requests")
    args = parser.parse_args(argv)
    django.setup()
    _emit(PHASES[args.phase](args))


if __name__ == "__main__":
    main(sys.argv[1:])
