"""Each person reads and types times in their own time zone; the record keeps instants, so the
form, the pages, the API, the calendar and the blackout checks agree."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import strip_tags
from rest_framework.test import APIClient

from approvals.access.tokens import token_issue
from approvals.models import AuditEvent, BlackoutWindow, ChangeRequest, Profile
from approvals.workflow import configuration
from tests.helpers import new_change

pytestmark = pytest.mark.django_db

EIGHT_PM_BEIJING = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TEN_PM_BEIJING = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def _text(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


def _form(**overrides):
    data = {
        "title": "Move the ticketing database",
        "description": "To the new cluster.",
        "change_type": "normal",
        "category": "software_upgrade",
        "impact": "low",
        "departments": ["IT"],
        "implementer": "ivan",
        "planned_start": "2026-12-01T20:00",
        "planned_end": "2026-12-01T22:00",
        "backout_plan": "Point the application back.",
        "test_plan": "Smoke tests.",
        "intent": "draft",
    }
    return data | overrides


def test_the_demo_users_read_beijing_time(alice, hank, audrey):
    zones = set(Profile.objects.values_list("time_zone", flat=True))
    assert zones == {"Asia/Shanghai"}


def test_a_beijing_user_typing_a_20_00_window_gets_20_00_beijing_time(as_user, alice):
    client = as_user(alice)
    response = client.post(reverse("web:change_new"), _form())
    assert response.status_code == 302
    change = ChangeRequest.objects.get(title="Move the ticketing database")
    assert change.planned_start == EIGHT_PM_BEIJING  # 12:00 UTC

    page = _text(client.get(reverse("web:change_detail", args=[change.pk])))
    assert "2026-12-01 20:00 – 22:00 UTC+08:00" in page

    # The API speaks in instants: UTC to a token client, the same instant to Alice's session.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=alice)}")
    as_token = api.get(f"/api/v1/changes/{change.pk}/").json()
    as_session = client.get(f"/api/v1/changes/{change.pk}/").json()
    assert parse_datetime(as_token["planned_start"]) == EIGHT_PM_BEIJING
    assert parse_datetime(as_session["planned_start"]) == EIGHT_PM_BEIJING

    # The edit form gives the window back as she typed it.
    edit = client.get(reverse("web:change_edit", args=[change.pk])).content.decode()
    assert 'value="2026-12-01T20:00"' in edit


def test_a_user_elsewhere_reads_the_same_window_in_their_own_zone(as_user, alice, bob):
    change = new_change(alice, planned_start=EIGHT_PM_BEIJING, planned_end=TEN_PM_BEIJING)
    Profile.objects.filter(user=alice).update(time_zone="Europe/London")
    page = _text(as_user(alice).get(reverse("web:change_detail", args=[change.pk])))
    assert "2026-12-01 12:00 – 14:00 UTC" in page
    assert "UTC+08:00" not in page


def test_blackout_checks_and_the_calendar_agree_with_the_typed_window(as_user, alice, mia):
    BlackoutWindow.objects.create(
        name="Data-centre power test",
        name_zh="机房电力测试",
        starts_at=datetime(2026, 12, 1, 11, 30, tzinfo=UTC),  # 19:30 in Beijing
        ends_at=datetime(2026, 12, 1, 12, 30, tzinfo=UTC),
    )
    client = as_user(alice)
    client.post(reverse("web:change_new"), _form(title="Inside the freeze", intent="submit"))
    client.post(
        reverse("web:change_new"),
        _form(
            title="At noon",
            planned_start="2026-12-01T12:00",
            planned_end="2026-12-01T13:00",
            intent="submit",
        ),
    )
    inside = ChangeRequest.objects.get(title="Inside the freeze")
    noon = ChangeRequest.objects.get(title="At noon")

    def blackout_warnings(change):
        body = client.get(f"/api/v1/changes/{change.pk}/").json()
        return [w for w in body["warnings"] if w["kind"] == "blackout"]

    assert [w["window"] for w in blackout_warnings(inside)] == ["Data-centre power test"]
    assert blackout_warnings(noon) == []
    detail = client.get(reverse("web:change_detail", args=[inside.pk])).content.decode()
    assert "warning-blackout" in detail
    noon_page = client.get(reverse("web:change_detail", args=[noon.pk])).content.decode()
    assert "warning-blackout" not in noon_page

    calendar = _text(client.get(reverse("web:calendar"), {"from": "2026-11-28"}))
    assert "Data-centre power test 2026-12-01 19:30 – 20:30 UTC+08:00" in calendar


def test_my_settings_change_my_time_zone_and_language(as_user, alice):
    client = as_user(alice)
    page = client.get(reverse("web:my_settings"))
    assert page.status_code == 200
    assert 'value="Asia/Shanghai" selected' in page.content.decode()

    response = client.post(
        reverse("web:my_settings"), {"time_zone": "America/New_York", "language": "zh-hans"}
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user=alice)
    assert (profile.time_zone, profile.language) == ("America/New_York", "zh-hans")
    change = new_change(alice, planned_start=EIGHT_PM_BEIJING, planned_end=TEN_PM_BEIJING)
    page = _text(client.get(reverse("web:change_detail", args=[change.pk])))
    assert "2026-12-01 07:00 – 09:00 UTC-05:00" in page
    assert "计划时间窗口" in page


def test_an_unknown_time_zone_is_refused_and_changes_nothing(as_user, alice):
    events = AuditEvent.objects.count()
    response = as_user(alice).post(
        reverse("web:my_settings"), {"time_zone": "Mars/Olympus_Mons", "language": ""}
    )
    assert response.status_code == 400
    assert Profile.objects.get(user=alice).time_zone == "Asia/Shanghai"
    assert AuditEvent.objects.count() == events


def test_a_change_manager_sets_someone_elses_time_zone_through_the_audited_service(mia, hank):
    configuration.user_save(
        actor=mia, user_id=hank.pk, values={}, profile={"time_zone": "Europe/Berlin"}
    )
    assert Profile.objects.get(user=hank).time_zone == "Europe/Berlin"
    event = AuditEvent.objects.latest("seq")
    assert event.action == "configuration_changed"
    assert event.data["before"]["time_zone"] == "Asia/Shanghai"
    assert event.data["after"]["time_zone"] == "Europe/Berlin"
    assert event.data["changed"] == ["time_zone"]


def test_the_change_managers_user_page_offers_time_zone_and_language(client, mia, hank):
    client.force_login(mia)
    page = client.get(f"/admin/auth/user/{hank.pk}/change/").content.decode()
    assert 'name="profile-0-time_zone"' in page and 'name="profile-0-language"' in page
