"""What every PostgreSQL connection of the application is set up with."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_connections_do_not_compile_queries_just_in_time():
    # Compiling took most of the time of change-list counts that run in milliseconds.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
