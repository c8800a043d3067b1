"""Periods at the calendar's ends are refused as input, naming the field, never a server error."""

import pytest
from django.test import Client

from tests.helpers import user

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = "Enter a date between the years 2000 and 2100."
DAYS = [
    ("?since=0001-01-01", ["since"]),
    ("?until=9999-12-31", ["until"]),
    ("?since=9999-12-31&until=0001-01-01", ["since", "until"]),
    ("?since=1999-12-31", ["since"]),
    ("?until=2101-01-01", ["until"]),
]


def signed_in(username: str) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user(username))
    return client


@pytest.mark.parametrize(
    ("query", "fields"),
    [*DAYS, ("?since=2026-01-01T00:00:00-14:00&until=9999-12-31T23:59:59Z", ["until"])],
)
def test_the_compliance_report_refuses_a_period_outside_the_sensible_years(demo, query, fields):
    response = signed_in("audrey").get("/api/v1/compliance/" + query)

    assert response.status_code == 400
    assert response.json() == {field: [OUT_OF_RANGE] for field in fields}


@pytest.mark.parametrize(("query", "fields"), DAYS)
def test_the_metrics_api_refuses_a_period_outside_the_sensible_years(demo, query, fields):
    response = signed_in("mia").get("/api/v1/metrics/" + query)

    assert response.status_code == 400
    assert response.json() == {field: [OUT_OF_RANGE] for field in fields}


def test_the_metrics_api_refuses_times_where_it_wants_days(demo):
    query = "?since=2026-01-01T00:00:00-14:00&until=9999-12-31T23:59:59Z"

    response = signed_in("mia").get("/api/v1/metrics/" + query)

    assert response.status_code == 400
    assert set(response.json()) == {"since", "until"}


@pytest.mark.parametrize(("query", "fields"), DAYS)
def test_the_metrics_page_says_which_date_is_outside_the_sensible_years(demo, query, fields):
    mia = signed_in("mia")

    page = mia.get("/metrics/" + query)
    csv = mia.get("/metrics/export/" + query)

    assert page.status_code == 200
    assert list(page.context["form"].errors) == fields
    assert page.context["form"].errors[fields[0]] == [OUT_OF_RANGE]
    assert csv.status_code == 200  # the default period, as for any other unreadable period
