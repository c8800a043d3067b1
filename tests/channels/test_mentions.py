"""`@username` in a comment tells that person — in the application and by e-mail, in their
language — when they may see the change; nobody else, never the author, once per event."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from approvals import audit, workflow
from approvals.exceptions import NotAllowed
from approvals.mentions import mentioned_names
from approvals.models import AuditEvent, ChangeRequest, Comment
from notifications.consumers import _one_per_person, notify
from notifications.messages import text_of
from notifications.models import Notification
from tests.api.conftest import token_client
from tests.channels.support import NOTIFY, drain
from tests.helpers import assessed, counts, user

pytestmark = pytest.mark.django_db

# A comment: the actor, the row lock, the route for need to know, the comment, the event, the
# change's chain head, and the test transaction's savepoint and its release.
COMMENT_QUERIES = 9
# Names: the accounts with their roles, delegations in force, the change's route.
MENTION_QUERIES = 3


@pytest.fixture
def only_notify(settings):
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]


@pytest.fixture
def change(alice, only_notify, django_capture_on_commit_callbacks) -> ChangeRequest:
    """An IT change at its department-head step (hank), whose announcements are already out."""
    created = assessed(alice)
    drain(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    return created


def comment(author: str, change: ChangeRequest, text: str) -> Comment:
    return workflow.change_comment(actor=user(author), change_id=change.pk, text=text)


def mentions_of(comment: Comment) -> tuple[list[str] | None, list[int] | None]:
    data = AuditEvent.objects.get(action="commented", data__comment=comment.pk).data
    return data.get("mentions"), data.get("mentioned_ids")


def told(change: ChangeRequest) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(change_id=change.pk, kind="mentioned")
    return sorted((n.user.username, n.params["who"]) for n in rows)


def _text(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


# --- reading the names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("@hank please look", ["hank"]),
        ("ask @hank.", ["hank."]),
        ("(@hank, @tom)", ["hank", "tom"]),
        ("@hank，请看一下", ["hank"]),
        ("write to bob@example.com", []),
        ("mail@hank and @ alone", []),
        ("@hank @hank @Hank", ["hank", "Hank"]),
        ("a.b@c @d.e-f+g_h", ["d.e-f+g_h"]),
        ("@... @-", []),
    ],
)
def test_names_are_read_after_an_at_that_starts_a_word(text, names):
    assert mentioned_names(text) == names


# --- who is told -----------------------------------------------------------------------------


def test_a_mentioned_approver_is_told_once_in_the_app_and_by_e_mail(
    change, hank, django_capture_on_commit_callbacks
):
    written = comment("alice", change, "@hank Can the window move to Friday night?")
    assert mentions_of(written) == (["hank"], [hank.pk])
    drain(django_capture_on_commit_callbacks)

    [note] = Notification.objects.filter(event__data__comment=written.pk)
    assert (note.user, note.kind) == (hank, "mentioned")
    assert text_of(note) == (
        f"alice mentioned you on {change.key}: @hank Can the window move to Friday night?"
    )
    [message] = mail.outbox
    assert message.to == [hank.email]
    assert message.subject == text_of(note)
    assert message.body.startswith("Hello Hank Head-of-IT,")
    assert "Open the change to read the whole comment and reply." in message.body
    assert f"/changes/{change.pk}/" in message.body
    assert "/links/" not in message.body  # a mention carries no decision link


def test_a_chinese_reader_reads_the_mention_in_chinese(
    alice, olga, only_notify, django_capture_on_commit_callbacks
):
    # A cross-department change: olga, head of OPS (reads Chinese), is named on its route.
    change = assessed(alice, departments=["IT", "OPS"])
    drain(django_capture_on_commit_callbacks)
    mail.outbox.clear()

    comment("alice", change, "@olga 运维部门请确认窗口。")
    drain(django_capture_on_commit_callbacks)

    [note] = Notification.objects.filter(user=olga, kind="mentioned")
    sentence = f"alice 在 {change.key} 的评论中提到了您：@olga 运维部门请确认窗口。"
    page = Client()
    page.force_login(olga)
    listed = _text(page.get(reverse("notifications:list")))
    assert sentence in listed and "评论中提到您" in listed
    assert text_of(note, language="en") == (
        f"alice mentioned you on {change.key}: @olga 运维部门请确认窗口。"
    )
    [message] = mail.outbox
    assert message.to == [olga.email] and message.subject == sentence
    assert message.extra_headers["Content-Language"] == "zh-hans"
    assert "您好" in message.body and "请打开该变更请求，阅读完整评论并回复。" in message.body


def test_someone_who_may_not_see_the_change_is_not_told_and_not_recorded(
    change, django_capture_on_commit_callbacks
):
    # bob (finance) and tom (not on this route) have no need to know this IT change.
    written = comment("alice", change, "@bob @tom what do you think?")
    drain(django_capture_on_commit_callbacks)

    assert mentions_of(written) == (None, None)
    assert told(change) == []
    assert mail.outbox == []


def test_the_author_mentioning_themselves_is_not_told(change, django_capture_on_commit_callbacks):
    written = comment("hank", change, "Note to @hank: check the backups first.")
    drain(django_capture_on_commit_callbacks)

    assert mentions_of(written) == (None, None)
    assert told(change) == []
    assert mail.outbox == []


def test_unknown_names_and_e_mail_addresses_tell_nobody(change, django_capture_on_commit_callbacks):
    written = comment(
        "alice", change, "@nobody knows; write to hank@example.com or ada@example.com"
    )
    drain(django_capture_on_commit_callbacks)

    assert mentions_of(written) == (None, None)
    assert told(change) == []
    assert mail.outbox == []


def test_a_name_is_matched_whatever_its_case_and_trailing_punctuation(
    change, hank, ivan, django_capture_on_commit_callbacks
):
    written = comment("alice", change, "Thanks @Hank. And @IVAN, you start it.")
    drain(django_capture_on_commit_callbacks)

    assert mentions_of(written) == (["hank", "ivan"], [hank.pk, ivan.pk])
    assert told(change) == [("hank", "alice"), ("ivan", "alice")]
    assert sorted(m.to[0] for m in mail.outbox) == [hank.email, ivan.email]


def test_a_deactivated_account_is_not_mentioned(change, ivan, django_capture_on_commit_callbacks):
    ivan.is_active = False
    ivan.save(update_fields=["is_active"])

    written = comment("alice", change, "@ivan are you there?")
    drain(django_capture_on_commit_callbacks)

    assert mentions_of(written) == (None, None)
    assert told(change) == []


def test_who_has_lost_sight_of_the_change_before_it_is_announced_is_not_told(
    change, hank, tom, django_capture_on_commit_callbacks
):
    # tom holds hank's seat for a while, and so sees the change when alice writes.
    now = timezone.now()
    lent = workflow.delegation_create(
        actor=hank, delegate=tom, starts_at=now, ends_at=now + timedelta(days=2)
    )
    drain(django_capture_on_commit_callbacks)
    written = comment("alice", change, "@tom you decide while hank is away")
    assert mentions_of(written) == (["tom"], [tom.pk])

    workflow.delegation_end(actor=hank, delegation_id=lent.pk)
    drain(django_capture_on_commit_callbacks)

    assert told(change) == []
    assert tom.email not in [m.to[0] for m in mail.outbox]


def test_handing_the_event_over_again_tells_nobody_twice(
    change, hank, django_capture_on_commit_callbacks
):
    written = comment("alice", change, "@hank ping")
    drain(django_capture_on_commit_callbacks)
    event = AuditEvent.objects.get(action="commented", data__comment=written.pk)

    with django_capture_on_commit_callbacks(execute=True):
        notify([event])
    with django_capture_on_commit_callbacks(execute=True):
        notify([event])

    assert told(change) == [("hank", "alice")]
    assert len(mail.outbox) == 1


def test_a_mention_adds_nothing_for_someone_the_event_already_tells():
    other = Notification(kind="decision")
    mention = Notification(kind="mentioned")
    alone = Notification(kind="mentioned")
    rows = {(1, 7, "decision"): other, (1, 7, "mentioned"): mention, (1, 8, "mentioned"): alone}

    _one_per_person(rows)

    assert rows == {(1, 7, "decision"): other, (1, 8, "mentioned"): alone}


def test_a_comment_recorded_before_mentions_were_tells_nobody_and_the_trail_verifies(
    change, alice, hank, django_capture_on_commit_callbacks
):
    # As comments were recorded before: the text alone, no mentions kept with it.
    with django_capture_on_commit_callbacks(execute=True):
        locked = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        earlier = Comment.objects.create(change=locked, author=alice, text="@hank old style")
        audit.comment_added(change=locked, actor=alice, comment_id=earlier.pk, text=earlier.text)
        locked.save(update_fields=["audit_length", "audit_head"])
    comment("alice", change, "@hank new style")
    drain(django_capture_on_commit_callbacks)

    assert told(change) == [("hank", "alice")]  # the new comment only
    [note] = Notification.objects.filter(kind="mentioned")
    assert note.params["excerpt"] == "@hank new style"
    result = audit.verify_chain()
    assert result.ok, result.reason
    assert result.events_checked == AuditEvent.objects.count()


def test_an_auditor_mentioning_someone_is_refused_and_nobody_is_told(
    change, django_capture_on_commit_callbacks
):
    before = counts(change)

    with pytest.raises(NotAllowed):
        comment("audrey", change, "@hank why?")
    drain(django_capture_on_commit_callbacks)

    assert counts(change) == before
    assert not Comment.objects.filter(change=change).exists()
    assert Notification.objects.filter(kind="mentioned").count() == 0


def test_the_quoted_comment_is_shown_as_text_not_markup(
    change, hank, django_capture_on_commit_callbacks
):
    comment("alice", change, "@hank <script>alert(1)</script>")
    drain(django_capture_on_commit_callbacks)

    page = Client()
    page.force_login(hank)
    html = page.get(reverse("notifications:list")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    [message] = mail.outbox
    (alternative, _type), *_ = message.alternatives
    assert "<script>alert" not in alternative


def test_a_long_comment_is_quoted_by_its_start_on_one_line(
    change, django_capture_on_commit_callbacks
):
    comment("alice", change, "@hank " + "word\n" * 100)
    drain(django_capture_on_commit_callbacks)

    [note] = Notification.objects.filter(kind="mentioned")
    excerpt = note.params["excerpt"]
    assert len(excerpt) == 140 and excerpt.endswith("…") and "\n" not in excerpt


def test_mentions_cost_the_same_queries_however_many_are_named(change, django_assert_num_queries):
    with django_assert_num_queries(COMMENT_QUERIES):
        comment("alice", change, "no one named")
    with django_assert_num_queries(COMMENT_QUERIES + MENTION_QUERIES):
        comment("alice", change, "@hank")
    with django_assert_num_queries(COMMENT_QUERIES + MENTION_QUERIES):
        comment("alice", change, "@hank @ivan @ada @mia @carl @bob @nobody")


# --- the API and the page --------------------------------------------------------------------


def test_the_api_answers_who_the_comment_notified_and_lists_it_with_the_comment(change):
    client = token_client("alice")
    url = f"/api/v1/changes/{change.pk}/"

    plain = client.post(url + "comment/", {"text": "No names here."}, format="json")
    named = client.post(url + "comment/", {"text": "@hank, @bob: look"}, format="json")

    assert plain.status_code == named.status_code == 200
    assert plain.json()["mentions"] == [] and plain.json()["key"] == change.key
    assert named.json()["mentions"] == ["hank"]
    listed = client.get(url + "comments/").json()["results"]
    assert [(c["text"], c["mentions"]) for c in listed] == [
        ("No names here.", []),
        ("@hank, @bob: look", ["hank"]),
    ]


def test_the_comment_form_explains_mentions_and_says_who_will_be_told(change, alice, olga):
    page = Client()
    page.force_login(alice)
    detail = reverse("web:change_detail", args=[change.pk])
    assert "Type @ and a username to notify someone who can see this change." in _text(
        page.get(detail)
    )

    response = page.post(
        reverse("web:change_action", args=[change.pk, "comment"]),
        {"text": "@hank @ivan @olga see the plan"},
        follow=True,
    )

    assert "Comment added; hank, ivan will be notified." in _text(response)
    chinese = Client()
    chinese.force_login(user("mia"))
    chinese.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "输入 @ 和用户名，即可通知能查看此变更请求的人。" in _text(chinese.get(detail))


def test_a_batch_of_mentions_costs_the_same_few_queries_however_large(
    alice, bob, only_notify, django_assert_num_queries, django_capture_on_commit_callbacks
):
    changes = [assessed(alice), assessed(alice), assessed(bob)]
    drain(django_capture_on_commit_callbacks)
    for written, text in zip(changes, ("@hank", "@ivan @ada", "@fiona @mia @bob"), strict=True):
        comment(written.requester.username, written, text)
    events = list(AuditEvent.objects.filter(action="commented").order_by("seq"))

    # changes; the mentioned accounts, their delegations, the changes' routes; one insert
    with django_assert_num_queries(5), django_capture_on_commit_callbacks():
        notify(events)

    assert Notification.objects.filter(kind="mentioned").count() == 5
