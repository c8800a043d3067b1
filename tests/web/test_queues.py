"""Assessor and implementer queues."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.choices import ChangeState
from approvals.models import BlackoutWindow
from tests.helpers import approve, assessed, submitted

pytestmark = pytest.mark.django_db


def _approved(alice):
    change = assessed(alice)
    approve("hank", change)
    return approve("mia", change)


def test_the_assessor_queue_lists_submitted_changes(as_user, alice, ada):
    change = submitted(alice, title="Needs a look")
    html = as_user(ada).get(reverse("web:assessor_queue")).content.decode()
    assert "Needs a look" in html
    assert reverse("web:change_assess", args=[change.pk]) in html


def test_the_assessment_form_assesses_and_opens_the_route(as_user, alice, ada):
    change = submitted(alice, impact="medium")
    url = reverse("web:change_assess", args=[change.pk])
    page = as_user(ada).get(url)
    assert page.status_code == 200 and 'name="risk"' in page.content.decode()
    response = as_user(ada).post(url, {"impact": "medium", "risk": "high", "notes": "Risky"})
    assert response.status_code == 302
    change.refresh_from_db()
    assert (change.state, change.risk, change.assessment_notes) == (
        ChangeState.TIER_APPROVAL,
        "high",
        "Risky",
    )
    assert "External expert review" in change.policy_name or change.policy_name.endswith(
        "high or critical impact"
    )


def test_assessing_twice_is_a_conflict(as_user, alice, ada):
    change = assessed(alice)
    response = as_user(ada).get(reverse("web:change_assess", args=[change.pk]))
    assert response.status_code == 409


def test_an_invalid_assessment_shows_field_errors(as_user, alice, ada):
    change = submitted(alice)
    response = as_user(ada).post(
        reverse("web:change_assess", args=[change.pk]), {"impact": "huge", "risk": "low"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["impact"]


def test_the_implementer_starts_completes_and_reports(as_user, alice, ivan):
    change = _approved(alice)
    client = as_user(ivan)
    html = client.get(reverse("web:implementer_queue")).content.decode()
    assert change.key in html and "Start implementation" in html
    next_url = {"next": reverse("web:implementer_queue")}
    response = client.post(reverse("web:change_action", args=[change.pk, "start"]), next_url)
    assert response["Location"] == reverse("web:implementer_queue")
    assert "Complete" in client.get(reverse("web:implementer_queue")).content.decode()
    client.post(
        reverse("web:change_action", args=[change.pk, "complete"]),
        {"outcome": "success", "notes": "Went fine", **next_url},
    )
    assert "Feedback report" in client.get(reverse("web:implementer_queue")).content.decode()
    client.post(
        reverse("web:change_action", args=[change.pk, "feedback"]),
        {"summary": "Done", "lessons": "None", **next_url},
    )
    change.refresh_from_db()
    assert change.state == ChangeState.CLOSED and change.feedback_summary == "Done"


def test_a_blackout_window_keeps_the_start_button_away_and_the_server_refuses(as_user, alice, ivan):
    change = _approved(alice)
    now = timezone.now()
    BlackoutWindow.objects.create(
        name="Freeze", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5)
    )
    client = as_user(ivan)
    html = client.get(reverse("web:implementer_queue")).content.decode()
    assert "Cannot start now" in html
    response = client.post(reverse("web:change_action", args=[change.pk, "start"]))
    assert response.status_code == 409
    assert "blackout window" in response.content.decode()


def test_the_implementer_queue_needs_a_constant_number_of_queries(
    as_user, alice, ivan, django_assert_max_num_queries
):
    client = as_user(ivan)
    _approved(alice)
    client.get(reverse("web:implementer_queue"))
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("web:implementer_queue"))
    for _ in range(4):
        _approved(alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("web:implementer_queue"))
    assert len(response.context["rows"]) == 5


def test_the_assessor_queue_needs_a_constant_number_of_queries(
    as_user, alice, ada, django_assert_max_num_queries
):
    client = as_user(ada)
    submitted(alice)
    client.get(reverse("web:assessor_queue"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("web:assessor_queue"))
    for _ in range(5):
        submitted(alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("web:assessor_queue"))
    assert len(response.context["changes"]) == 6


def test_an_outside_next_address_is_ignored_after_an_action(as_user, alice, ivan):
    change = _approved(alice)
    response = as_user(ivan).post(
        reverse("web:change_action", args=[change.pk, "start"]), {"next": "/\\\\evil.example/"}
    )
    assert response["Location"] == reverse("web:change_detail", args=[change.pk])
