import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from approvals.demo import USERS, seed
from approvals.models import Department

DEMO_USERNAMES = [u[0] for u in USERS] + ["admin"]


def pytest_configure(config):
    """Transactional tests end with a flush (TRUNCATE), which the append-only audit triggers
    refuse; let the test database's flush alone bypass them, as pgtrigger's ignore() allows."""
    import pgtrigger
    from django.core.management.commands import flush

    handle = flush.Command.handle

    def handle_ignoring_triggers(self, *args, **options):
        with pgtrigger.ignore():
            return handle(self, *args, **options)

    flush.Command.handle = handle_ignoring_triggers


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests skip, with a reason, when the suite runs on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed(blackout=False)


@pytest.fixture
def demo(db):
    """The demo organisation and default policy (re-seeded after transactional tests flush it)."""
    if not Department.objects.exists():
        seed(blackout=False)


@pytest.fixture
def demo_tx(transactional_db):
    seed(blackout=False)


def _user_fixture(username):
    @pytest.fixture
    def _fixture(request):
        db_fixture = "demo_tx" if "transactional_db" in request.fixturenames else "demo"
        request.getfixturevalue(db_fixture)
        return get_user_model().objects.get(username=username)

    _fixture.__name__ = username
    return _fixture


for _name in DEMO_USERNAMES:
    globals()[_name] = _user_fixture(_name)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"
