"""Configuration data, notifications, e-mails and audit actions in the reader's language."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import strip_tags

from approvals import outbox, workflow
from approvals.models import AuditEvent, Department, PolicyStep, Profile
from notifications.messages import text_of
from notifications.models import Notification
from tests.helpers import approve, assessed

pytestmark = pytest.mark.django_db

NOTIFY = "notifications.consumers.notify"


def _text(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


@pytest.fixture
def only_notify(settings):
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]


def drain(capture):
    with capture(execute=True):
        outbox.events_dispatch()


def test_the_demo_configuration_has_chinese_names(demo):
    assert Department.objects.get(code="IT").name_zh == "信息技术部"
    assert PolicyStep.objects.filter(name="Department head", name_zh="部门负责人审批").exists()
    assert not PolicyStep.objects.filter(name_zh="").exists()
    readers = dict(Profile.objects.values_list("user__username", "language"))
    assert readers["olga"] == readers["hugo"] == "zh-hans"
    assert readers["alice"] == readers["hank"] == ""


def test_a_chinese_page_names_policy_steps_departments_and_actions_in_chinese(as_user, alice):
    change = assessed(alice)
    page = _text(
        as_user(alice, language="zh-hans").get(reverse("web:change_detail", args=[change.pk]))
    )
    assert "常规变更 — 低影响" in page  # the policy
    assert "部门负责人审批" in page and "最终批准（变更经理）" in page  # its steps
    assert "信息技术部 (IT)" in page  # the department
    assert "已提交" in page and "已评估" in page  # audit actions on the timeline
    assert "影响：低" in page  # a full-width colon after a label
    assert "Department head" not in page and "Normal change" not in page


def test_the_final_approval_state_and_step_kind_read_as_the_glossary_says(as_user, alice):
    change = approve("hank", assessed(alice))  # at its final approval
    assert change.state == "final_approval"
    page = _text(
        as_user(alice, language="zh-hans").get(reverse("web:change_detail", args=[change.pk]))
    )
    assert "状态：最终审批中" in page  # the state
    assert "最终批准 · 法定人数" in page  # the kind of the route's last step
    english = _text(as_user(alice).get(reverse("web:change_detail", args=[change.pk])))
    assert "State: Final approval" in english


def test_the_same_page_stays_english_for_an_english_reader(as_user, alice):
    change = assessed(alice)
    page = _text(as_user(alice).get(reverse("web:change_detail", args=[change.pk])))
    assert "Normal change — low impact" in page and "Department head" in page
    assert "Impact: Low" in page
    assert "部门负责人审批" not in page


def test_how_approvals_work_reads_in_chinese(as_user, alice):
    page = _text(as_user(alice, language="zh-hans").get(reverse("web:how_it_works")))
    assert "常规变更 — 高或严重影响" in page
    assert "高影响变更：在变更管理委员会 (CAB) 审批前增加风险评估和外部专家评审。" in page
    assert "外部专家评审" in page and "紧急变更委员会 (ECAB)" in page
    assert "Normal change" not in page and "External expert review" not in page


def test_the_auditor_reads_action_names_in_chinese(as_user, alice, audrey):
    assessed(alice)
    client = as_user(audrey, language="zh-hans")
    trail = client.get(reverse("web:audit_trail")).content.decode()
    rows = re.findall(r"<td>([^<]*)</td>", trail)
    assert "已提交" in rows and "已评估" in rows
    assert "submitted" not in rows and "assessed" not in rows
    event = AuditEvent.objects.filter(action="submitted").latest("seq")
    detail = _text(client.get(reverse("web:audit_event", args=[event.seq])))
    assert "已提交 submitted" in detail


def test_olga_reads_her_pages_in_chinese_without_choosing_it(as_user, olga):
    page = _text(as_user(olga).get(reverse("web:dashboard")))
    assert "仪表板" in page or "我的草稿" in page


def test_notifications_are_written_in_each_recipients_language(
    as_user, alice, olga, only_notify, django_capture_on_commit_callbacks
):
    # A cross-department change: after Hank, Olga (head of OPS, reads Chinese) must decide.
    change = assessed(alice, departments=["IT", "OPS"])
    approve("hank", change)
    drain(django_capture_on_commit_callbacks)

    (to_olga,) = Notification.objects.filter(user=olga, kind="step_opened")
    (to_alice,) = Notification.objects.filter(user=alice, kind="decision")
    assert to_olga.params["step"] == "Joint approval (affected departments)"
    assert to_olga.params["step_zh"] == "联合审批（受影响部门）"

    olga_page = _text(as_user(olga).get(reverse("notifications:list")))
    assert f"{change.key} 的步骤“联合审批（受影响部门）”等待您审批。" in olga_page
    alice_page = _text(as_user(alice).get(reverse("notifications:list")))
    assert f"hank decided “approve” on step “Department head” of {change.key}." in alice_page

    # The same stored notification reads in whichever language it is shown in.
    assert text_of(to_olga, language="en") == (
        f"{change.key} awaits your decision on “Joint approval (affected departments)”."
    )

    (olga_mail,) = [m for m in mail.outbox if m.to == ["olga@example.com"]]
    assert olga_mail.subject == f"{change.key} 的步骤“联合审批（受影响部门）”等待您审批。"
    assert "您好" in olga_mail.body and "您是此步骤的审批人" in olga_mail.body
    assert olga_mail.extra_headers["Content-Language"] == "zh-hans"
    (html, _type), *_ = olga_mail.alternatives
    assert "UTC+08:00" in html  # the window, in her time zone, named
    (alice_mail,) = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert alice_mail.body.startswith("Hello Alice Requester,")
    assert alice_mail.extra_headers["Content-Language"] == "en"


def test_a_step_renamed_later_keeps_its_name_in_notifications_already_written(
    alice, olga, only_notify, django_capture_on_commit_callbacks
):
    change = assessed(alice, departments=["IT", "OPS"])
    approve("hank", change)
    drain(django_capture_on_commit_callbacks)
    PolicyStep.objects.filter(name="Joint approval (affected departments)").update(
        name_zh="跨部门联合审批"
    )
    (to_olga,) = Notification.objects.filter(user=olga, kind="step_opened")
    assert "联合审批（受影响部门）" in text_of(to_olga, language="zh-hans")


def test_a_step_copied_onto_a_change_carries_both_names(alice):
    change = assessed(alice)
    names = list(change.steps.values_list("name", "name_zh"))
    assert ("Department head", "部门负责人审批") in names
    assert change.policy_name_zh == "常规变更 — 低影响"
    workflow.step_decide(
        actor=change.steps.first().seats.first().user,
        change_id=change.pk,
        decision="request_info",
        comment="Which cluster?",
    )
    change.refresh_from_db()
    assert (change.policy_name, change.policy_name_zh) == ("", "")
