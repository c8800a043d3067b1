"""`Idempotency-Key` on POST: the first response is stored per user for 24 hours and replayed.

How concurrent repeats behave: the loser waits. The key is claimed by inserting its row in the
same transaction that runs the action and stores the response, so a claim never becomes visible
without its answer. A concurrent repeat's insert hits the unique (user, key) constraint and waits
for that transaction (PostgreSQL blocks on the index entry; SQLite serialises writers): when the
first commits, the repeat replays its stored response; if the first rolled back, the repeat runs
the action itself. Nothing executes twice. A row found without an answer can only come from
outside this code path; it is answered 409 with `code: "idempotency_in_progress"` rather than
run again. The same key with a different request (path or body) is refused with 422.

Anonymous POSTs (the token endpoint) carry no user to scope a key to and are not deduplicated.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpResponseBase
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from approvals.api.errors import Conflict, KeyReused
from approvals.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable() and key.isascii()


def fingerprint(request: Request) -> str:
    """What makes two POSTs "the same request": path and body (files by name, size and digest)."""
    digest = hashlib.sha256(request.get_full_path().encode())
    if request.content_type.startswith("multipart/"):
        for name, value in sorted(request.data.items()):
            if hasattr(value, "chunks"):
                digest.update(f"{name}={value.name}:{value.size}:".encode())
                for chunk in value.chunks():
                    digest.update(chunk)
                value.seek(0)
            else:
                digest.update(f"{name}={value}".encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _replay(record: IdempotencyRecord, print_: str) -> Response:
    if record.fingerprint != print_:
        raise KeyReused()
    if record.status_code is None:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            code="idempotency_in_progress",
        )
    response = Response(record.body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(user: User, key: str, print_: str) -> IdempotencyRecord | Response:
    now = timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    # A key older than the retention period is free again.
    IdempotencyRecord.objects.filter(user=user, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=user, key=key, fingerprint=print_, created_at=now
            )
    except IntegrityError:
        record = IdempotencyRecord.objects.get(user=user, key=key)
        return _replay(record, print_)


class IdempotentPostMixin:
    """For DRF views: POSTs that carry an `Idempotency-Key` run once per user and key."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.user.is_authenticated:
            return
        if not _valid_key(key):
            raise KeyReused(
                f"{HEADER} must be 1–{MAX_KEY_LENGTH} printable ASCII characters.",
                code="invalid_idempotency_key",
            )
        # DRF looks the handler up after `initial`: wrap this request's handler only.
        handler: Callable[..., HttpResponseBase] = getattr(self, "post")  # noqa: B009
        self.post = lambda req, *a, **kw: self._run_once(handler, req, key, *a, **kw)

    def _run_once(
        self,
        handler: Callable[..., HttpResponseBase],
        request: Request,
        key: str,
        *args: Any,
        **kwargs: Any,
    ) -> HttpResponseBase:
        print_ = fingerprint(request)
        with transaction.atomic():
            claimed = _claim(cast(User, request.user), key, print_)
            if isinstance(claimed, Response):
                return claimed
            try:
                response = handler(request, *args, **kwargs)
            except Exception as exc:  # domain and validation errors are answers worth keeping
                response = self.handle_exception(exc)  # type: ignore[attr-defined]
            if response.status_code >= 500 or not isinstance(response, Response):
                # Not a stable answer: give the key back so a retry runs the action again.
                transaction.set_rollback(True)
                return response
            claimed.status_code = response.status_code
            claimed.body = _plain(response.data)
            claimed.save(update_fields=["status_code", "body"])
        return response
