"""The interface in Simplified Chinese, including choices and domain messages."""

import pytest
from django.urls import reverse
from django.utils import translation

from approvals.choices import ChangeState
from tests.helpers import assessed, open_step_id

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _compiled_catalogue():
    from django.core.management import call_command

    call_command("compile_translations", verbosity=0)
    translation.trans_real._translations = {}
    yield
    translation.trans_real._translations = {}


def _zh(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    return client


def test_the_language_switcher_turns_the_inbox_chinese(as_user, alice, hank):
    assessed(alice)
    html = _zh(as_user(hank)).get(reverse("web:inbox")).content.decode()
    assert "待办审批" in html and "批准" in html and "驳回" in html and "要求补充信息" in html
    assert '<html lang="zh-hans">' in html


def test_choices_and_domain_messages_are_translated(as_user, alice):
    change = assessed(alice)
    client = _zh(as_user(alice))
    html = client.get(reverse("web:change_detail", args=[change.pk])).content.decode()
    assert "分级审批中" in html and "常规变更" in html
    response = client.post(
        reverse("web:change_action", args=[change.pk, "approve"]), {"step": open_step_id(change)}
    )
    assert "职责分离" in response.content.decode()
    with translation.override("zh-hans"):
        assert str(ChangeState.WITHDRAWN.label) == "已撤回"


def test_the_catalogue_has_no_untranslated_entries():
    import polib
    from django.conf import settings

    po = polib.pofile(str(settings.LOCALE_PATHS[0] / "zh_Hans/LC_MESSAGES/django.po"))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
