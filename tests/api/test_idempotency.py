"""`Idempotency-Key` on POST: a repeat returns the first response and does nothing again."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from approvals.api.models import IdempotencyRecord
from approvals.models import AuditEvent, ChangeRequest, Comment
from tests.api.conftest import token_client
from tests.api.scenarios import at_department_head, draft

pytestmark = pytest.mark.django_db

NEW = {"title": "Once", "description": "only once", "change_type": "normal", "impact": "low"}


def create(username: str, key: str, body: dict | None = None):
    return token_client(username).post(
        "/api/v1/changes/", body or NEW, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_repeated_create_returns_the_first_answer_and_creates_nothing_more(demo):
    first = create("alice", "k-1")
    second = create("alice", "k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ChangeRequest.objects.count() == 1


def test_a_repeated_error_is_replayed_too(demo):
    change = at_department_head()  # hank decides its open step, but only alice may withdraw
    client = token_client("hank")
    path = f"/api/v1/changes/{change.pk}/withdraw/"
    first = client.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="oops")
    second = client.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="oops")
    assert first.status_code == second.status_code == 403
    assert first.json() == second.json()
    assert ChangeRequest.objects.get(pk=change.pk).state == "tier_approval"


def test_a_repeated_action_does_not_run_again(demo):
    change = draft()
    client = token_client("alice")
    path = f"/api/v1/changes/{change.pk}/comment/"
    for _ in range(3):
        response = client.post(path, {"text": "hi"}, format="json", HTTP_IDEMPOTENCY_KEY="c1")
        assert response.status_code == 200
    assert Comment.objects.filter(change=change).count() == 1
    assert AuditEvent.objects.filter(change=change, action="commented").count() == 1


def test_the_same_key_with_a_different_body_is_refused_with_422(demo):
    create("alice", "k-2")
    response = create("alice", "k-2", NEW | {"title": "Other"})
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]
    assert ChangeRequest.objects.count() == 1


def test_keys_belong_to_their_user(demo):
    create("alice", "shared")
    create("bob", "shared")
    assert ChangeRequest.objects.count() == 2


def test_without_a_key_every_post_runs(demo):
    client = token_client("alice")
    client.post("/api/v1/changes/", NEW, format="json")
    client.post("/api/v1/changes/", NEW, format="json")
    assert ChangeRequest.objects.count() == 2


def test_a_key_older_than_24_hours_is_free_again(demo):
    create("alice", "old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = create("alice", "old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert ChangeRequest.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ключ"])
def test_malformed_keys_are_refused(demo, key):
    response = create("alice", key)
    assert response.status_code == 422
    assert not ChangeRequest.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_one_key_execute_once(alice):
    change = draft()
    path = f"/api/v1/changes/{change.pk}/comment/"
    clients = [token_client("alice") for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, dict]] = []

    def repeat(client) -> None:
        try:
            barrier.wait()
            response = client.post(
                path, {"text": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="race"
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=repeat, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Losers wait for the winner's transaction and then replay its answer.
    assert [status for status, _ in answers] == [200] * len(clients)
    assert all(body == answers[0][1] for _, body in answers)
    assert Comment.objects.filter(change=change).count() == 1
    assert IdempotencyRecord.objects.filter(key="race").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_key_make_one_change(alice):
    clients = [token_client("alice") for _ in range(5)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def repeat(client) -> None:
        try:
            barrier.wait()
            response = client.post(
                "/api/v1/changes/", NEW, format="json", HTTP_IDEMPOTENCY_KEY="create-race"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=repeat, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * len(clients)
    assert ChangeRequest.objects.filter(title="Once").count() == 1


def test_the_periodic_purge_forgets_keys_past_24_hours_only(demo):
    from approvals.api.tasks import purge_idempotency_keys

    create("alice", "old-key")
    create("alice", "new-key")
    IdempotencyRecord.objects.filter(key="old-key").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new-key"]
