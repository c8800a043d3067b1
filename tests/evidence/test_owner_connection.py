"""Migrations connect as the tables' owner when MIGRATE_DATABASE_URL says who that is."""

from django.db import connections

from approvals.evidence.roles import owner_connection


def test_the_owner_credentials_replace_the_runtime_ones_for_the_block_only(settings):
    settings.MIGRATE_DATABASE_URL = "postgres://owner:secret@db.internal:6543/changemgmt"
    before = dict(connections["default"].settings_dict)
    with owner_connection() as connection:
        swapped = dict(connection.settings_dict)
    assert (swapped["USER"], swapped["PASSWORD"], swapped["HOST"], swapped["PORT"]) == (
        "owner",
        "secret",
        "db.internal",
        6543,
    )
    # The database stays the one the connection names (a test database stays the test one).
    assert swapped["NAME"] == before["NAME"]
    assert dict(connections["default"].settings_dict) == before


def test_without_an_owner_url_the_runtime_connection_is_used(settings):
    settings.MIGRATE_DATABASE_URL = ""
    before = dict(connections["default"].settings_dict)
    with owner_connection() as connection:
        assert dict(connection.settings_dict) == before
