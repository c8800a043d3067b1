"""Every scenario of PRODUCT.md's route table, walked through the pages by the demo users.

Nothing here calls a service: each user signs in through the login form and clicks. The
assertions are what a user sees — the state badge, the route's step statuses, inbox rows.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.inbox import write_comment
from tests.browser.times import typed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Transactional tests flush the database; each one starts from the demo organisation.
    pytest.mark.usefixtures("demo_tx"),
]

DETAIL = re.compile(r"/changes/(\d+)/$")

EN = {
    "approve": "Approve",
    "reject": "Reject",
    "request_info": "Request information",
    "start": "Start implementation",
    "complete": "Complete",
    "close": "Close with this report",
}
ZH = {
    "approve": "批准",
    "start": "开始实施",
    "complete": "完成实施",
    "close": "提交反馈报告并关闭",
}


def _plan_window_open_now(page, username="alice"):
    """A planned window that is open now: the approved change may start at once."""
    start = timezone.now() + timedelta(minutes=5)
    page.fill("#id_planned_start", typed(start, username))
    page.fill("#id_planned_end", typed(start + timedelta(hours=2), username))


def _switch_to_chinese(page):
    page.select_option("#language", "zh-hans")
    with page.expect_navigation():
        page.click("form.lang button[type=submit]")
    assert page.locator("html").get_attribute("lang") == "zh-hans"


@pytest.fixture
def as_user(new_page):
    """A signed-in page for `username`, optionally switched to Chinese in the header."""

    def open_as(username, *, chinese=False):
        page = new_page(username)
        if chinese:
            _switch_to_chinese(page)
        return page

    return open_as


def _create(page, title, *, change_type="normal", impact="low", departments=(), plans=True):
    """Fill the new-change form as a first-time requester would, then save and submit."""
    page.click("nav a[href='/changes/new/']")
    page.fill("#id_title", title)
    page.fill("#id_description", f"{title}: what will be done, step by step.")
    page.fill("#id_goal", "Keep the service supported.")
    page.select_option("#id_change_type", change_type)
    page.select_option("#id_category", "software_upgrade")
    page.select_option("#id_impact", impact)
    for code in departments:
        page.check(f"input[name=departments][value={code}]")
    page.select_option("#id_implementer", "ivan")
    _plan_window_open_now(page)
    if plans:
        page.fill("#id_backout_plan", "Restore the snapshot taken before the change.")
        page.fill("#id_test_plan", "Run the smoke suite.")
    page.click("button[value=submit]")
    page.wait_for_url(DETAIL)
    return DETAIL.search(page.url).group(1)


def _state(page):
    return page.locator(".change-head .badge").first.inner_text()


def _route(page):
    """[(step name, status label)] of the current round, as shown on the detail page."""
    steps = page.locator("section ol.route").first.locator(":scope > li.step")
    return [
        (
            re.sub(r"^\d+\. ", "", step.locator(".step-head strong").inner_text()),
            step.locator(".step-head .badge").first.inner_text(),
        )
        for step in steps.all()
    ]


def _assess(as_user, change_id, *, impact="low", risk="low"):
    page = as_user("ada")
    page.click("nav a[href='/assess/']")
    page.click(f"a[href='/changes/{change_id}/assess/']")
    page.select_option("#id_impact", impact)
    page.select_option("#id_risk", risk)
    page.fill("#id_notes", "Feasible; the backout is tested.")
    page.click("main button[type=submit]")
    page.wait_for_url("**/assess/")
    assert page.locator(f"a[href='/changes/{change_id}/assess/']").count() == 0
    return page


def _decide(as_user, username, title, *, decision="approve", comment="", chinese=False):
    """Decide the row for `title` in the user's inbox; the row leaves the inbox in place."""
    page = as_user(username, chinese=chinese)
    page.click("nav a[href='/inbox/']")
    row = page.locator(".inbox-row", has_text=title)
    assert row.count() == 1, f"{username} does not see {title!r} in the inbox"
    if comment:
        write_comment(row, comment)
    labels = ZH if chinese else EN
    row.get_by_role("button", name=labels[decision], exact=True).click()
    row.wait_for(state="detached")
    return page


def _detail(page, change_id):
    page.goto(f"/changes/{change_id}/")
    return page


def _implement(as_user, change_id, *, chinese=False):
    """Ivan starts and completes the change from its detail page (outcome: success)."""
    labels = ZH if chinese else EN
    page = _detail(as_user("ivan", chinese=chinese), change_id)
    page.get_by_role("button", name=labels["start"], exact=True).click()
    page.wait_for_url(DETAIL)
    page.select_option("#id_outcome", "success")
    page.fill("#id_notes", "Done in the window; smoke suite green.")
    page.get_by_role("button", name=labels["complete"], exact=True).click()
    page.wait_for_url(DETAIL)
    return page


def _write_feedback(page, *, chinese=False):
    labels = ZH if chinese else EN
    page.fill("#id_summary", "Upgraded as planned; no incident.")
    page.fill("#id_lessons", "Announce the window one day earlier.")
    page.get_by_role("button", name=labels["close"], exact=True).click()
    page.wait_for_url(DETAIL)


def test_normal_low_impact_change_goes_from_form_to_closed(as_user, shot):
    alice = as_user("alice")
    change_id = _create(alice, "Low: patch the wiki")
    assert _state(alice) == "State: Submitted"

    _assess(as_user, change_id)
    hank = _decide(as_user, "hank", "Low: patch the wiki", comment="Fine by IT.")
    assert _route(_detail(hank, change_id)) == [
        ("Department head", "Approved"),
        ("Final approval (change manager)", "Pending"),
    ]
    mia = _decide(as_user, "mia", "Low: patch the wiki")
    assert _state(_detail(mia, change_id)) == "State: Approved"

    page = as_user("ivan")
    page.click("nav a[href='/implement/']")
    card = page.locator("li.card", has_text="Low: patch the wiki")
    card.get_by_role("button", name="Start implementation").click()
    page.wait_for_url("**/implement/")
    card.locator("select[name=outcome]").select_option("success")
    card.locator("textarea[name=notes]").fill("Done; smoke suite green.")
    card.get_by_role("button", name="Complete", exact=True).click()
    page.wait_for_url("**/implement/")
    card.locator("textarea[name=summary]").fill("Patched; no incident.")
    card.get_by_role("button", name="Close with this report").click()
    page.wait_for_url("**/implement/")
    page = _detail(page, change_id)
    assert _state(page) == "State: Closed"
    shot(page, "route-01-low-closed")


def test_normal_medium_impact_change_goes_head_then_expert_then_cab(as_user):
    change_id = _create(as_user("alice"), "Medium: move the queue", impact="medium")
    _assess(as_user, change_id, impact="medium")
    _decide(as_user, "hank", "Medium: move the queue")
    tom = _decide(as_user, "tom", "Medium: move the queue")
    assert _route(_detail(tom, change_id)) == [
        ("Department head", "Approved"),
        ("Technical expert", "Approved"),
        ("Final approval (CAB)", "Pending"),
    ]
    carl = _decide(as_user, "carl", "Medium: move the queue")
    assert _state(_detail(carl, change_id)) == "State: Approved"


def test_high_impact_change_needs_plans_and_five_decisions(as_user, shot):
    alice = as_user("alice")
    # Without backout and test plans the draft is kept but not submitted, and the form says why.
    alice.click("nav a[href='/changes/new/']")
    alice.fill("#id_title", "High: replace the core switch")
    alice.fill("#id_description", "Swap the core switch for the new model.")
    alice.select_option("#id_impact", "high")
    _plan_window_open_now(alice)
    alice.click("button[value=submit]")
    assert alice.locator(".errors").count() >= 1
    assert alice.get_by_text("Required before submitting a high or critical impact change.").count()
    shot(alice, "route-03-high-missing-plans")
    alice.fill("#id_backout_plan", "Re-cable the old switch.")
    alice.fill("#id_test_plan", "Ping every rack.")
    alice.click("button[value=submit]")
    alice.wait_for_url(DETAIL)
    assert _state(alice) == "State: Submitted"
    change_id = DETAIL.search(alice.url).group(1)

    _assess(as_user, change_id, impact="high", risk="medium")
    for username in ("hank", "tom", "rita", "eve"):
        page = _decide(as_user, username, "High: replace the core switch")
    assert _route(_detail(page, change_id)) == [
        ("Department head", "Approved"),
        ("Technical expert", "Approved"),
        ("Risk assessment", "Approved"),
        ("External expert review", "Approved"),
        ("Final approval (CAB / senior management)", "Pending"),
    ]
    carl = _decide(as_user, "carl", "High: replace the core switch")
    assert _state(_detail(carl, change_id)) == "State: Approved"
    shot(carl, "route-03-high-approved")


def test_cross_department_change_waits_for_every_other_head(as_user, shot):
    title = "Cross: new expense workflow"
    change_id = _create(as_user("alice"), title, departments=("FIN", "OPS"))
    _assess(as_user, change_id)
    _decide(as_user, "hank", title)
    fiona = _decide(as_user, "fiona", title)
    # Quorum "all": one head's approval leaves the joint step open for the other.
    assert _route(_detail(fiona, change_id))[1] == (
        "Joint approval (affected departments)",
        "Pending",
    )
    olga = _decide(as_user, "olga", title)
    assert _route(_detail(olga, change_id)) == [
        ("Department head", "Approved"),
        ("Joint approval (affected departments)", "Approved"),
        ("Final approval (change manager)", "Pending"),
    ]
    shot(olga, "route-04-cross-joint-met")


def test_emergency_change_in_chinese_closes_only_after_the_retrospective(as_user, shot):
    title = "紧急：修复支付网关证书"
    alice = as_user("alice", chinese=True)
    change_id = _create(alice, title, change_type="emergency", impact="high")
    assert _state(alice) == "状态：最终审批中"
    assert _route(alice)[0][1] == "待审批"
    shot(alice, "route-05-emergency-zh-submitted")

    carl = as_user("carl", chinese=True)
    carl.click("nav a[href='/inbox/']")
    assert carl.locator(".inbox-row", has_text=title).count() == 1
    mia = _decide(as_user, "mia", title, chinese=True)
    assert _state(_detail(mia, change_id)) == "状态：已批准"
    carl.reload()
    assert carl.locator(".inbox-row", has_text=title).count() == 0

    ivan = _implement(as_user, change_id, chinese=True)
    assert _state(ivan) == "状态：已实施"
    # No feedback form until the CAB approves the retrospective review.
    assert ivan.get_by_role("button", name=ZH["close"]).count() == 0
    assert ivan.locator(".actions-panel").get_by_text("等待 CAB 的事后评审").count() == 1
    shot(ivan, "route-05-emergency-zh-implemented")

    carl = _decide(as_user, "carl", title, chinese=True)
    shot(carl, "route-05-emergency-zh-inbox-after-retrospective")
    assert [status for _name, status in _route(_detail(carl, change_id))] == ["已批准", "已批准"]

    ivan.reload()
    _write_feedback(ivan, chinese=True)
    assert _state(ivan) == "状态：已关闭"
    shot(ivan, "route-05-emergency-zh-closed")


def test_standard_change_from_the_catalogue_is_approved_at_once(as_user, shot):
    alice = as_user("alice")
    alice.click("nav a[href='/changes/new/']")
    alice.select_option("#id_change_type", "standard")
    alice.select_option("#id_template", label="Renew a TLS certificate on the load balancer")
    # Title, description and plans come from the template when left blank.
    alice.select_option("#id_implementer", "ivan")
    _plan_window_open_now(alice)
    alice.click("button[value=submit]")
    alice.wait_for_url(DETAIL)
    change_id = DETAIL.search(alice.url).group(1)
    assert _state(alice) == "State: Approved"
    assert alice.locator("h1").inner_text() == "Renew a TLS certificate on the load balancer"
    assert alice.locator(".change-head").get_by_text("Pre-approved").count() == 1
    shot(alice, "route-06-standard-approved")

    ivan = _implement(as_user, change_id)
    _write_feedback(ivan)
    assert _state(ivan) == "State: Closed"


def test_request_information_returns_the_draft_and_a_rejection_ends_it(as_user, shot):
    title = "Info: change the backup schedule"
    alice = as_user("alice")
    change_id = _create(alice, title)
    _assess(as_user, change_id)
    _decide(as_user, "hank", title, decision="request_info", comment="Which backup window?")

    alice.reload()
    assert _state(alice) == "State: Draft"
    notice = alice.locator(".change-head .information-request")
    assert "Hank Head-of-IT (hank) asked for more information:" in notice.inner_text()
    assert notice.locator("blockquote").inner_text() == "Which backup window?"
    shot(alice, "route-07-information-requested")
    alice.get_by_role("link", name="Edit draft").click()
    assert alice.locator("form .information-request blockquote").inner_text() == (
        "Which backup window?"
    )
    alice.fill("#id_scope", "Nightly backups move from 01:00 to 03:00.")
    alice.click("button[value=submit]")
    alice.wait_for_url(DETAIL)
    assert _state(alice) == "State: Submitted"

    _assess(as_user, change_id)
    hank = _decide(as_user, "hank", title, decision="reject", comment="Clashes with batch jobs.")
    assert _state(_detail(hank, change_id)) == "State: Rejected"
    assert _route(hank)[0] == ("Department head", "Rejected")
