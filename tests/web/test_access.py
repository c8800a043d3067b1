"""Who may open which page: no login → login page; wrong role → 403."""

import pytest
from django.urls import reverse

from tests.helpers import assessed

pytestmark = pytest.mark.django_db

EVERY_PAGE = [
    ("web:dashboard", []),
    ("web:change_list", []),
    ("web:change_new", []),
    ("web:route_preview", []),
    ("web:inbox", []),
    ("web:assessor_queue", []),
    ("web:implementer_queue", []),
    ("web:calendar", []),
    ("web:metrics", []),
    ("web:how_it_works", []),
    ("web:delegations", []),
    ("web:audit_trail", []),
    ("web:audit_snapshots", []),
    ("web:audit_verify", []),
    ("web:audit_event", [1]),
    ("web:change_detail", [1]),
    ("web:change_edit", [1]),
    ("web:change_assess", [1]),
    ("web:attachment_download", [1, 1]),
]


@pytest.mark.parametrize("name,args", EVERY_PAGE, ids=[n for n, _ in EVERY_PAGE])
def test_every_page_sends_anonymous_visitors_to_the_login_page(client, demo, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "name,args",
    [("web:change_action", [1, "approve"]), ("web:inbox_decide", [1]), ("web:delegation_end", [1])],
)
def test_actions_send_anonymous_visitors_to_the_login_page(client, demo, name, args):
    response = client.post(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "username,name",
    [
        ("alice", "web:inbox"),
        ("alice", "web:assessor_queue"),
        ("hank", "web:assessor_queue"),
        ("alice", "web:implementer_queue"),
        ("audrey", "web:inbox"),
        ("alice", "web:audit_trail"),
        ("hank", "web:audit_snapshots"),
        ("mia", "web:audit_verify"),
        ("audrey", "web:change_new"),
    ],
)
def test_pages_outside_the_role_answer_403(as_user, request, username, name):
    response = as_user(request.getfixturevalue(username)).get(reverse(name))
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_audit_event_detail_is_for_auditors_only(as_user, alice, mia):
    change = assessed(alice)
    event = change.audit_events.first()
    assert as_user(mia).get(reverse("web:audit_event", args=[event.seq])).status_code == 403


def test_a_requester_cannot_open_someone_elses_change(as_user, alice, bob):
    change = assessed(alice)
    response = as_user(bob).get(reverse("web:change_detail", args=[change.pk]))
    assert response.status_code == 404


def test_the_header_shows_the_users_name_and_roles(as_user, tom):
    html = as_user(tom).get(reverse("web:dashboard")).content.decode()
    assert "Tom Technical-Expert" in html
    assert "Approver · Technical expert" in html


def test_login_and_logout_work_with_the_demo_password(client, alice):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "demo-pass-1"}, follow=True
    )
    assert response.wsgi_request.user.username == "alice"
    assert "Alice Requester" in response.content.decode()
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("web:dashboard")).status_code == 302
