import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from approvals import audit
from approvals.models import AuditEvent, ChangeRequest
from tests.helpers import approve, assessed

pytestmark = pytest.mark.django_db


def test_every_action_writes_a_linked_event_with_actor_states_and_snapshot(alice):
    change = approve("hank", assessed(alice))
    events = list(change.audit_events.order_by("seq"))
    assert [(e.action, e.actor_name, e.from_state, e.to_state) for e in events] == [
        ("created", "alice", "", "draft"),
        ("submitted", "alice", "draft", "submitted"),
        ("assessed", "ada", "submitted", "tier_approval"),
        ("approved", "hank", "tier_approval", "final_approval"),
    ]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert events[2].snapshot["state"] == "tier_approval"
    assert events[2].data["policy"] == "Normal change — low impact"
    assert refreshed_head(change) == events[-1].hash


def refreshed_head(change):
    return ChangeRequest.objects.values_list("audit_head", flat=True).get(pk=change.pk)


def test_verification_passes_on_an_untouched_trail(alice):
    approve("hank", assessed(alice))
    result = audit.verify_chain()
    assert result.ok and result.first_bad_seq is None
    assert result.events_checked == AuditEvent.objects.count()
    call_command("verify_audit")


def test_verification_names_the_first_altered_event(alice):
    change = approve("hank", assessed(alice))
    events = list(change.audit_events.order_by("seq"))
    _tamper(
        f'UPDATE approvals_auditevent SET data = \'{{"impact": "low"}}\' WHERE seq = {events[2].seq}'
    )
    result = audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == events[2].seq
    with pytest.raises(CommandError, match=f"#{events[2].seq}") as refused:
        call_command("verify_audit")
    assert refused.value.returncode == 1


def test_verification_notices_events_deleted_from_the_end_of_a_chain(alice):
    change = approve("hank", assessed(alice))
    last = change.audit_events.order_by("-seq").first()
    _tamper(f"DELETE FROM approvals_auditevent WHERE seq = {last.seq}")
    result = audit.verify_chain()
    assert not result.ok
    assert f"change {change.pk}" in result.reason and "removed" in result.reason
    # Without a signed checkpoint nothing records the missing event's number; with one, it is
    # named exactly (tests/evidence).
    assert result.first_bad_seq is None


def _tamper(sql):
    """Edit behind the application's back: on PostgreSQL the trigger must be bypassed first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks must run before the table can be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE approvals_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE approvals_auditevent ENABLE TRIGGER USER")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE approvals_auditevent SET action = 'nothing'",
        "DELETE FROM approvals_auditevent",
        "TRUNCATE approvals_auditevent CASCADE",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_database_refuses_to_edit_or_remove_audit_rows(alice, sql):
    assessed(alice)
    count = AuditEvent.objects.count()
    refused = pytest.raises(DatabaseError, match="pgtrigger|append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no deferred check
        cursor.execute(sql)
    assert AuditEvent.objects.count() == count


def test_the_application_has_no_path_that_edits_an_event(alice):
    event = assessed(alice).audit_events.first()
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action="x")
    assert AuditEvent.objects.get(pk=event.pk).action == "created"
