"""The metrics page, its CSV and the API show where changes wait, for the period asked."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.api.conftest import token_client
from tests.helpers import approve, assessed, user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
LOW = "Normal change — low impact"
QUERY = "since=2026-02-01&until=2026-02-28"


def _low_change_decided_after(head_hours: float, final_hours: float | None) -> None:
    """alice's low-impact change: hank decides after `head_hours`, mia after `final_hours`
    more (None: the final step stays open)."""
    with time_machine.travel(T0, tick=False) as clock:
        change = assessed(user("alice"))
        clock.shift(timedelta(hours=head_hours))
        approve("hank", change)
        if final_hours is not None:
            clock.shift(timedelta(hours=final_hours))
            approve("mia", change)


def _signed_in(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def _page(username: str = "alice", query: str = QUERY) -> str:
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        response = _signed_in(username).get(f"/metrics/?{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_api_names_each_policy_step_with_its_median_and_90th_percentile(demo):
    _low_change_decided_after(2, 1)
    _low_change_decided_after(30, 3)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        response = token_client("alice").get(f"/api/v1/metrics/?{QUERY}")
    assert response.status_code == 200
    body = response.json()
    steps = {(s["group"], s["name"]): s for s in body["steps"]}
    head = steps[(LOW, "Department head")]
    assert (head["decided"], head["median_hours"], head["decided_late"]) == (2, 16.0, 1)
    assert head["p90_hours"] == pytest.approx(27.2)
    assert steps[(LOW, "Final approval (change manager)")]["median_hours"] == 2.0
    assert [d["group"] for d in body["departments"]] == ["IT"]
    approvers = {a["group"]: a for a in body["approvers"]}
    assert approvers["hank"]["decided"] == 2 and approvers["mia"]["median_hours"] == 2.0
    assert body["outcomes"]["approved"] == 2 and body["outcomes"]["approval_rate"] == 1.0
    assert (body["since"], body["until"]) == ("2026-02-01", "2026-02-28")


def test_an_open_step_past_its_due_time_counts_as_overdue_for_its_step_and_approver(demo):
    _low_change_decided_after(1, None)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        body = token_client("mia").get(f"/api/v1/metrics/?{QUERY}").json()
    final = next(s for s in body["steps"] if s["name"] == "Final approval (change manager)")
    assert (final["decided"], final["overdue_open"]) == (0, 1)
    assert next(a for a in body["approvers"] if a["group"] == "mia")["overdue_open"] == 1


def test_steps_opened_outside_the_period_are_left_out(demo):
    _low_change_decided_after(2, 1)
    body = token_client("alice").get("/api/v1/metrics/?since=2026-03-01&until=2026-03-31").json()
    assert body["steps"] == [] and body["approvers"] == [] and body["outcomes"]["decided"] == 0


def test_a_period_ending_before_it_starts_is_refused(demo):
    response = token_client("alice").get("/api/v1/metrics/?since=2026-03-01&until=2026-02-01")
    assert response.status_code == 400 and "until" in response.json()


def test_the_page_shows_waits_as_people_say_them_with_bars_to_scale(demo):
    _low_change_decided_after(2, 0.25)
    html = _page()
    assert "Department head" in html and "2.0 h" in html and "15 min" in html
    # the longest 90th percentile fills its bar; the final step's median is an eighth of it
    assert 'class="chart-bar" width="100.0"' in html
    assert 'class="chart-bar" width="12.5"' in html
    assert "0 min" not in html


def test_waits_shorter_than_a_minute_read_less_than_a_minute(demo):
    _low_change_decided_after(0.001, 0.001)
    assert "&lt; 1 min" in _page()


def test_a_period_ending_before_it_starts_shows_the_default_period_with_the_error(demo):
    html = _page(query="since=2026-03-01&until=2026-02-01")
    assert "Give an end on or after the start." in html


def test_the_csv_holds_one_row_per_step_department_and_approver(demo):
    _low_change_decided_after(2, 1)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        response = _signed_in("mia").get(f"/metrics/export/?{QUERY}")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(r["table"], r["group"], r["step"]) for r in rows} == {
        ("step", LOW, "Department head"),
        ("step", LOW, "Final approval (change manager)"),
        ("department", "Information Technology (IT)", ""),
        ("approver", "hank", ""),
        ("approver", "mia", ""),
    }
    assert next(r for r in rows if r["group"] == "hank")["median_hours"] == "2.0"


def test_a_name_that_looks_like_a_formula_is_exported_as_text(demo):
    from approvals.models import Department

    Department.objects.filter(code="IT").update(name="=1+1")
    _low_change_decided_after(2, 1)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        content = _signed_in("mia").get(f"/metrics/export/?{QUERY}").content.decode()
    assert "department,'=1+1 (IT)," in content


def _in_chinese(client: Client) -> Client:
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    return client


def test_a_chinese_reader_sees_policies_steps_and_departments_named_in_chinese(demo):
    _low_change_decided_after(2, 1)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        html = _in_chinese(_signed_in("mia")).get(f"/metrics/?{QUERY}").content.decode()
    assert "常规变更 — 低影响" in html  # the policy
    assert "部门负责人审批" in html and "最终批准（变更经理）" in html  # its steps
    assert "信息技术部 (IT)" in html  # the requester's department
    assert "Department head" not in html and LOW not in html


def test_an_english_reader_sees_the_english_names(demo):
    _low_change_decided_after(2, 1)
    html = _page("mia")
    assert LOW in html and "Department head" in html and "Information Technology (IT)" in html
    assert "部门负责人审批" not in html


def test_the_csv_names_steps_policies_and_departments_in_the_readers_language(demo):
    _low_change_decided_after(2, 1)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        response = _in_chinese(_signed_in("mia")).get(f"/metrics/export/?{QUERY}")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(r["table"], r["group"], r["step"]) for r in rows} == {
        ("step", "常规变更 — 低影响", "部门负责人审批"),
        ("step", "常规变更 — 低影响", "最终批准（变更经理）"),
        ("department", "信息技术部 (IT)", ""),
        ("approver", "hank", ""),
        ("approver", "mia", ""),
    }


def test_the_api_keeps_its_names_and_adds_them_in_the_requests_language(demo):
    _low_change_decided_after(2, 1)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        english = token_client("alice").get(f"/api/v1/metrics/?{QUERY}").json()
        chinese = (
            token_client("alice")
            .get(f"/api/v1/metrics/?{QUERY}", HTTP_ACCEPT_LANGUAGE="zh-hans")
            .json()
        )
    for body in (english, chinese):  # the documented fields do not change with the language
        assert {(s["group"], s["name"]) for s in body["steps"]} == {
            (LOW, "Department head"),
            (LOW, "Final approval (change manager)"),
        }
        assert [d["group"] for d in body["departments"]] == ["IT"]
    head = next(s for s in chinese["steps"] if s["name"] == "Department head")
    assert (head["group_display"], head["name_display"]) == ("常规变更 — 低影响", "部门负责人审批")
    assert chinese["departments"][0]["group_display"] == "信息技术部 (IT)"
    assert next(a for a in chinese["approvers"] if a["group"] == "hank")["group_display"] == "hank"
    head = next(s for s in english["steps"] if s["name"] == "Department head")
    assert (head["group_display"], head["name_display"]) == (LOW, "Department head")


def _queries(django_assert_max_num_queries, client: Client, path: str) -> int:
    with django_assert_max_num_queries(12) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_the_metrics_cost_the_same_queries_for_1_and_12_changes(
    demo, django_assert_max_num_queries
):
    page, api = _signed_in("alice"), token_client("alice")
    paths = ((page, "/metrics/"), (api, "/api/v1/metrics/"), (page, "/metrics/export/"))

    def costs() -> list[int]:
        with time_machine.travel(T0 + timedelta(days=10), tick=False):
            return [_queries(django_assert_max_num_queries, c, f"{p}?{QUERY}") for c, p in paths]

    costs()  # the first requests fill the session and the caches
    _low_change_decided_after(2, 1)
    few = costs()
    for _ in range(11):
        _low_change_decided_after(5, None)
    assert costs() == few, few
    assert max(few) <= 8, few


def test_signed_out_visitors_see_no_metrics(demo):
    assert Client().get("/metrics/").status_code == 302
    assert token_client("alice").get("/api/v1/metrics/").status_code == 200
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/metrics/").status_code == 401


def test_the_schema_documents_the_metrics_endpoint_and_its_period(demo):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/metrics/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"since", "until"}
    assert set(operation["responses"]) >= {"200", "400"}
    body = schema["components"]["schemas"]["Metrics"]["properties"]
    assert {"steps", "departments", "approvers", "outcomes"} <= set(body)
