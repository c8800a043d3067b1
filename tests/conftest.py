import os
from pathlib import Path

import pytest
from django.conf import settings
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
    """PostgreSQL-only tests skip, with a reason, when the suite runs on SQLite; browser tests
    skip when Debian's Chromium is missing."""
    _skip_browser_without_chromium(items)
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _site_language_and_time_zone():
    """Each test starts in the site's language and time zone: pages activate the reader's own
    for the thread, and a test must not inherit the previous test's reader."""
    from django.utils import timezone, translation

    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()
    yield
    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()


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


# --- Chromium through Playwright: one browser for the whole session --------------------------

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _skip_browser_without_chromium(items):
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a page signed in as `username` (a fresh browser context per user)."""
    contexts = []

    def open_page(username, *, width=1280, height=900, language="en"):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            locale="zh-CN" if language.startswith("zh") else "en-US",
        )
        # The browser chose its language (as the header's switcher does), whatever the
        # person's own setting.
        context.add_cookies(
            [
                {
                    "name": settings.LANGUAGE_COOKIE_NAME,
                    "value": "zh-hans" if language.startswith("zh") else "en",
                    "url": live_server.url,
                }
            ]
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo-pass-1")
        page.click("button[type=submit]:not(.small)")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
