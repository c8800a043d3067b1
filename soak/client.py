"""HTTP as integrators speak it: token authentication, an Idempotency-Key on every POST, and
retries of the same request (same key) when the answer is lost or says 503 Retry-After."""

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

PASSWORD = "demo-pass-1"  # the demo users' password (approvals/demo.py), not a secret
# Production redirects plain HTTP; a TLS-terminating proxy in front says the request was HTTPS.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


@dataclass
class Tally:
    """Every answer seen, by status; 5xx are failures unless they are 503 with Retry-After (the
    documented answer while the database is unreachable) or lost connections."""

    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int | str, what: str = "") -> None:
        with self.lock:
            self.statuses[status] += 1
            if isinstance(status, int) and status >= 500 and status != 503:
                self.server_errors.append(f"{status} {what}")

    def add_503(self, retry_after: bool, what: str) -> None:
        with self.lock:
            self.statuses[503] += 1
            if not retry_after:
                self.server_errors.append(f"503 without Retry-After {what}")

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def five_xx(self) -> int:
        return len(self.server_errors)


@dataclass
class Answer:
    status: int | None  # None: no answer before the deadline (connection lost each time)
    body: Any
    attempts: int


class Api:
    def __init__(self, base_url: str, tally: Tally) -> None:
        self.base = f"{base_url}/api/v1"
        self.tally = tally
        self.tokens: dict[str, str] = {}
        self.local = threading.local()

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(PROXY_HEADERS)
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=4)
            session.mount("http://", adapter)
            self.local.session = session
        return session

    def login(self, username: str) -> None:
        response = self.session().post(
            f"{self.base}/auth/token/",
            json={"username": username, "password": PASSWORD},
            timeout=30,
        )
        self.tally.add(response.status_code, "token")
        if response.status_code == 400 and "otp" in response.json():
            # Production asks change managers for a second factor the soak does not enrol: the
            # token is issued as the endpoint would after it.
            from django.contrib.auth import get_user_model

            from approvals.access.tokens import token_issue

            user = get_user_model().objects.get(username=username)
            self.tokens[username] = token_issue(user=user)
            return
        response.raise_for_status()
        self.tokens[username] = response.json()["token"]

    def headers(self, username: str, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Token {self.tokens[username]}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, username: str, path: str) -> requests.Response:
        response = self.session().get(
            f"{self.base}{path}", headers=self.headers(username), timeout=30
        )
        self.tally.add(response.status_code, f"GET {path}")
        return response

    def post(
        self,
        username: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        files: dict[str, Any] | None = None,
        key: str | None = None,
        deadline: float = 60.0,
        timeout: float = 30.0,
        retry_503: bool = True,
    ) -> Answer:
        """POST until a definitive answer (anything but a lost connection or 503) or the
        deadline; the same Idempotency-Key every time, so a retry never acts twice."""
        key = key or uuid.uuid4().hex
        ends = time.monotonic() + deadline
        attempts = 0
        while True:
            attempts += 1
            try:
                if files is not None:
                    for handle in files.values():
                        handle[1].seek(0)
                response = self.session().post(
                    f"{self.base}{path}",
                    json=body if files is None else None,
                    data=body if files is not None else None,
                    files=files,
                    headers=self.headers(username, key),
                    timeout=timeout,
                )
            except requests.RequestException:
                self.tally.add("lost", path)
                self.local.session = None  # a fresh connection for the retry
                if time.monotonic() > ends:
                    return Answer(None, None, attempts)
                time.sleep(0.5)
                continue
            if response.status_code == 503:
                self.tally.add_503("Retry-After" in response.headers, f"POST {path}")
                if not retry_503:
                    return Answer(503, response.json(), attempts)
                if time.monotonic() > ends:
                    return Answer(None, None, attempts)
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
                continue
            self.tally.add(response.status_code, f"POST {path} {response.text[:200]}")
            try:
                data = response.json()
            except ValueError:
                data = response.text
            return Answer(response.status_code, data, attempts)
