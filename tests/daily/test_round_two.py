"""After a request for information, the next round's approvers see what changed, field by field."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals import workflow
from tests.helpers import assessed, decide, user

pytestmark = pytest.mark.django_db


def _resubmitted(alice):
    change = assessed(alice, title="Upgrade the mail relay")
    decide("hank", change, "request_info", "Which hosts, and when exactly?")
    start = timezone.now() + timedelta(days=4)
    workflow.change_update(
        actor=alice,
        change_id=change.pk,
        data={
            "scope": "mx1 and mx2 only",
            "planned_start": start,
            "planned_end": start + timedelta(hours=2),
            "departments": ["IT", "FIN"],
        },
    )
    workflow.change_update(actor=alice, change_id=change.pk, data={"scope": "mx1, mx2 and mx3"})
    workflow.change_submit(actor=alice, change_id=change.pk)
    return workflow.change_assess(
        actor=user("ada"), change_id=change.pk, impact="low", risk="low", notes="ok"
    )


def test_round_two_approvers_see_each_changed_field_with_its_earlier_value(as_user, alice, hank):
    change = _resubmitted(alice)
    response = as_user(hank).get(reverse("web:change_detail", args=[change.pk]))
    edits = {e["field"]: e for e in response.context["edits_since"]}
    assert edits["scope"]["old"] == "Ticketing database cluster."
    assert edits["scope"]["new"] == "mx1, mx2 and mx3"  # the latest value, the first old one
    departments = edits["affected departments"]
    assert departments["old"] == "IT" and departments["new"] == "FIN, IT"
    assert "planned start" in edits
    html = response.content.decode()
    assert "Changed since information was requested" in html
    assert (
        "<del>Ticketing database cluster.</del>" in html and "<ins>mx1, mx2 and mx3</ins>" in html
    )


def test_a_first_round_change_shows_no_comparison(as_user, alice, hank):
    change = assessed(alice)
    response = as_user(hank).get(reverse("web:change_detail", args=[change.pk]))
    assert response.context["edits_since"] == []
    assert "Changed since information was requested" not in response.content.decode()


def test_the_comparison_speaks_chinese(as_user, alice, hank):
    change = _resubmitted(alice)
    client = as_user(hank)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = client.get(reverse("web:change_detail", args=[change.pk])).content.decode()
    assert "要求补充信息后的修改" in html
