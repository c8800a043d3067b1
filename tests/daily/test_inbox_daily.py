"""The approver inbox for daily use: compact rows that say what a decision needs, bulk approval,
the menu's count, and failures answered in the row."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from approvals.choices import ChangeState
from approvals.models import ApprovalStep, BlackoutWindow, Decision, Profile
from tests.helpers import approve, assessed, counts, open_step_id, refresh

pytestmark = pytest.mark.django_db


def _inbox(client):
    return client.get(reverse("web:inbox")).content.decode()


def _row(html, change):
    match = re.search(
        rf'<li class="inbox-row[^"]*"[^>]*data-change="{change.key}".*?</li>', html, re.S
    )
    assert match, f"{change.key} has no row"
    return match.group(0)


def test_a_row_shows_window_time_left_risk_requester_and_a_description_excerpt(
    as_user, alice, hank
):
    start = timezone.now() + timedelta(days=2)
    change = assessed(
        alice,
        risk="medium",
        description="Move the ticketing database to version 16 " + "with care " * 40,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
    )
    row = _row(_inbox(as_user(hank)), change)
    assert "Risk: Medium" in row
    assert "due in 24 h" in row  # the department head's SLA
    # The window: its start and end, in the reader's time zone, which is named.
    assert len(re.findall(r'<time datetime="[^"]+">(\d{4}-\d\d-\d\d )?\d\d:\d\d', row)) == 2
    assert "UTC+08:00" in row
    assert "alice" in row and "Move the ticketing database to version 16" in row
    assert "with care " * 40 not in row  # an excerpt, not the whole text


def test_an_overdue_row_says_how_late_it_is_in_red(as_user, alice, hank):
    change = assessed(alice)
    ApprovalStep.objects.filter(change=change, status="pending").update(
        due_at=timezone.now() - timedelta(hours=3)
    )
    row = _row(_inbox(as_user(hank)), change)
    assert 'class="inbox-row overdue"' in row
    assert '<span class="due late"' in row and "3 h past due" in row


def test_a_row_warns_of_a_blackout_and_a_conflict(as_user, alice, hank):
    start = timezone.now() + timedelta(days=3)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=4)}
    BlackoutWindow.objects.create(
        name="Year-end freeze",
        starts_at=start - timedelta(hours=1),
        ends_at=start + timedelta(days=1),
    )
    approve("mia", approve("hank", assessed(alice, title="Already approved", **window)))
    change = assessed(alice, title="Waiting", **window)
    row = _row(_inbox(as_user(hank)), change)
    assert "warning-blackout" in row and "Year-end freeze" in row
    assert "warning-conflict" in row


def test_a_joint_step_row_shows_how_many_heads_have_approved(as_user, alice, hank, fiona, olga):
    change = assessed(alice, departments=["IT", "FIN", "OPS"])
    approve("hank", change)
    assert "0 of 2 heads" in _row(_inbox(as_user(fiona)), change)
    approve("fiona", change)
    # olga reads the pages in Chinese: the figures, not the words
    rows = as_user(olga).get(reverse("web:inbox")).context["rows"]
    assert [(r["progress"]["done"], r["progress"]["needed"]) for r in rows] == [(1, 2)]


def test_the_comment_box_opens_on_demand_and_every_form_names_its_step(as_user, alice, hank):
    changes = [assessed(alice) for _ in range(3)]
    html = _inbox(as_user(hank))
    for change in changes:
        row = _row(html, change)
        assert '<details class="row-comment">' in row and "<textarea" in row
        assert f'<input type="hidden" name="step" value="{open_step_id(change)}">' in row
    assert html.count('<details class="row-comment" open') == 0


def test_the_empty_state_is_printed_once(as_user, hank):
    html = _inbox(as_user(hank))
    assert html.count("Nothing waits for you. Well done.") == 1
    assert 'id="inbox-list"' not in html


def test_the_inbox_menu_item_shows_how_many_steps_wait(as_user, alice, hank):
    assessed(alice)
    assessed(alice)
    for url in (reverse("web:dashboard"), reverse("web:change_list"), reverse("web:inbox")):
        html = as_user(hank).get(url).content.decode()
        assert '<span id="nav-inbox-count" class="count">2</span>' in html, url
    html = as_user(alice).get(reverse("web:dashboard")).content.decode()
    assert "nav-inbox-count" not in html  # requesters have no inbox


def test_an_htmx_decision_updates_the_menu_count_in_place(as_user, alice, hank):
    change = assessed(alice)
    assessed(alice)
    response = as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "approve", "step": open_step_id(change)},
        headers={"HX-Request": "true", "HX-Target": f"step-{open_step_id(change)}"},
    )
    html = response.content.decode()
    assert '<span id="nav-inbox-count" class="count" hx-swap-oob="true">1</span>' in html


def test_a_failing_htmx_decision_answers_a_partial_with_the_message(as_user, alice, hank):
    change = assessed(alice)
    step = open_step_id(change)
    approve("hank", change)  # decided in another tab: this row is stale
    before = counts(change)
    response = as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "approve", "step": step},
        headers={"HX-Request": "true", "HX-Target": f"step-{step}"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" not in html and 'class="msg error"' in html
    assert response["HX-Retarget"] == f"#step-{step} .inline-error"
    assert counts(change) == before


def test_bulk_approval_decides_each_step_on_its_own_and_summarises(as_user, alice, hank):
    first, second, third = (assessed(alice, title=f"Change {n}") for n in range(3))
    stale = assessed(alice, title="Decided elsewhere")
    stale_step = open_step_id(stale)
    approve("hank", stale)
    before = counts(stale)
    steps = [open_step_id(c) for c in (first, second, third)] + [stale_step]
    response = as_user(hank).post(
        reverse("web:inbox_bulk_decide"), {"step": steps, "comment": "Fine by IT."}, follow=True
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert text.startswith("3 approved, 1 refused: ")
    assert f"{stale.key} — " in text
    for change in (first, second, third):
        assert refresh(change).state == ChangeState.FINAL_APPROVAL
        decision = Decision.objects.get(step__change=change, approver=hank)
        assert decision.comment == "Fine by IT." and decision.step_id in steps
    assert counts(stale)[:5] == before[:5]


def test_bulk_approval_refuses_steps_the_approver_may_not_decide_or_see(
    as_user, alice, bob, hank, fiona
):
    mine = assessed(alice)
    others = assessed(bob)  # FIN: fiona's step; hank may not see it
    before = counts(others)
    response = as_user(hank).post(
        reverse("web:inbox_bulk_decide"),
        {"step": [open_step_id(others), open_step_id(mine), "999999", "nonsense"]},
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert text.startswith("1 approved, 2 refused: ")
    assert others.key not in text  # not even its key is revealed
    assert counts(others)[:5] == before[:5]
    assert refresh(mine).state == ChangeState.FINAL_APPROVAL


def test_bulk_approval_with_nothing_selected_changes_nothing(as_user, alice, hank):
    change = assessed(alice)
    before = counts(change)
    response = as_user(hank).post(reverse("web:inbox_bulk_decide"), {}, follow=True)
    assert "Select the steps to approve first." in response.content.decode()
    assert counts(change) == before


def test_bulk_approval_is_refused_to_people_without_an_inbox(as_user, alice):
    change = assessed(alice)
    before = counts(change)
    response = as_user(alice).post(
        reverse("web:inbox_bulk_decide"), {"step": [open_step_id(change)]}
    )
    assert response.status_code == 403
    assert counts(change) == before


def test_the_inbox_costs_eight_queries_whatever_its_length(
    as_user, alice, hank, django_assert_num_queries
):
    client = as_user(hank)
    assessed(alice)
    client.get(reverse("web:inbox"))
    with django_assert_num_queries(8):
        client.get(reverse("web:inbox"))
    for _ in range(9):
        assessed(alice, departments=["IT", "FIN"])
    with django_assert_num_queries(8):
        response = client.get(reverse("web:inbox"))
    assert response.context["count"] == 10


def _nobody_may_decide(mia, carl):
    """mia requests and carl implements: once the department head approves, the final approval
    (the change managers, then the CAB) has nobody eligible and waits for a reassignment."""
    return approve("hank", assessed(mia, implementer="carl"))


def test_a_change_managers_inbox_lists_the_steps_nobody_may_decide_in_the_same_eight_queries(
    as_user, alice, hank, fiona, mia, carl, django_assert_num_queries
):
    carl.groups.add(Group.objects.get(name="implementer"))
    client = as_user(mia)
    approve("hank", assessed(alice))
    stuck = [_nobody_may_decide(mia, carl)]
    client.get(reverse("web:inbox"))
    with django_assert_num_queries(8):
        response = client.get(reverse("web:inbox"))
    assert response.context["count"] == 1 and len(response.context["unstaffed"]) == 1
    for _ in range(9):
        approve("fiona", approve("hank", assessed(alice, departments=["IT", "FIN"])))
    stuck += [_nobody_may_decide(mia, carl), _nobody_may_decide(mia, carl)]
    with django_assert_num_queries(8):
        response = client.get(reverse("web:inbox"))
    assert response.context["count"] == 10
    assert [s.change_id for s in response.context["unstaffed"]] == [c.pk for c in stuck]
    html = response.content.decode()
    section = html[html.index("Steps nobody may decide") :]
    for change in stuck:
        assert f'data-change="{change.key}"' not in html  # not a row mia may decide
        assert change.key in section


def test_the_dashboard_counts_the_inbox_once_for_its_tile_and_the_menu(
    as_user, alice, hank, django_assert_max_num_queries
):
    assessed(alice)
    client = as_user(hank)
    client.get(reverse("web:dashboard"))
    with django_assert_max_num_queries(20) as captured:
        html = client.get(reverse("web:dashboard")).content.decode()
    counting = [q["sql"] for q in captured.captured_queries if "overdue_count" in q["sql"]]
    assert len(counting) == 1
    assert '<span id="nav-inbox-count" class="count">1</span>' in html


def test_a_long_inbox_is_shown_a_page_at_a_time_oldest_due_first(
    as_user, alice, hank, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr("approvals.web.queues.INBOX_PAGE_ROWS", 2)
    changes = [assessed(alice, title=f"Change {n}") for n in range(5)]
    client = as_user(hank)
    pages = []
    for number in (1, 2, 3):
        response = client.get(reverse("web:inbox"), {"page": number})
        assert response.context["count"] == 5  # the whole inbox, on every page
        pages.append([row["change"].pk for row in response.context["rows"]])
    assert pages == [[c.pk for c in changes[0:2]], [c.pk for c in changes[2:4]], [changes[4].pk]]

    first = client.get(reverse("web:inbox")).content.decode()
    assert "Steps 1–2 of 5" in first and 'href="?page=2"' in first and 'rel="prev"' not in first
    last = client.get(reverse("web:inbox"), {"page": 3}).content.decode()
    assert "Steps 5–5 of 5" in last and 'href="?page=2"' in last and 'rel="next"' not in last
    assert '<span id="nav-inbox-count" class="count">5</span>' in last
    # A page further on costs what the first costs: the totals come with the page's rows.
    with django_assert_num_queries(8):
        client.get(reverse("web:inbox"), {"page": 2})
    assert (
        client.get(reverse("web:inbox"), {"page": "x"}).context["rows"][0]["change"] == changes[0]
    )


def test_inbox_pages_read_in_chinese(as_user, alice, hank, monkeypatch):
    monkeypatch.setattr("approvals.web.queues.INBOX_PAGE_ROWS", 1)
    assessed(alice)
    assessed(alice)
    Profile.objects.filter(user=hank).update(language="zh-hans")
    html = as_user(hank).get(reverse("web:inbox")).content.decode()
    assert "第 1–1 项，共 2 项" in html and "更晚到期 →" in html


def test_a_change_managers_later_inbox_page_counts_only_what_she_may_decide(
    as_user, alice, hank, mia, carl, monkeypatch
):
    monkeypatch.setattr("approvals.web.queues.INBOX_PAGE_ROWS", 1)
    carl.groups.add(Group.objects.get(name="implementer"))
    for _ in range(3):
        approve("hank", assessed(alice))  # at its final approval: mia's to decide
    _nobody_may_decide(mia, carl)  # listed, but not hers to decide
    response = as_user(mia).get(reverse("web:inbox"), {"page": 2})
    assert response.context["count"] == 3
    assert len(response.context["rows"]) == 1
