"""The in-app notification list, "mark all read", and the unread count on every page."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from notifications.context_processors import unread
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def notify(user, key="CHG-000001"):
    return Notification.objects.create(
        user=user, kind="step_opened", params={"key": key, "step": "Department head"}
    )


def test_my_notifications_are_listed_newest_first_and_nobody_elses(client, hank, mia):
    notify(hank, "CHG-000101")
    notify(hank, "CHG-000102")
    notify(mia, "CHG-000999")
    client.force_login(hank)
    response = client.get(reverse("notifications:list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("CHG-000102") < body.index("CHG-000101")
    assert "CHG-000999" not in body
    assert response.context["unread_notifications_count"] == 2


def test_mark_all_read_clears_the_unread_count(client, hank):
    notify(hank)
    client.force_login(hank)
    response = client.post(reverse("notifications:mark_all_read"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("notifications:list")
    assert response.context["unread_notifications_count"] == 0
    assert not Notification.objects.filter(user=hank, read_at__isnull=True).exists()


def test_mark_all_read_needs_a_post(client, hank):
    client.force_login(hank)
    assert client.get(reverse("notifications:mark_all_read")).status_code == 405


def test_the_list_needs_a_login(client):
    response = client.get(reverse("notifications:list"))
    assert response.status_code == 302


def test_anonymous_visitors_have_no_unread_count(hank):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert unread(request) == {"unread_notifications_count": None}
    request.user = hank
    notify(hank)
    assert unread(request) == {"unread_notifications_count": 1}
