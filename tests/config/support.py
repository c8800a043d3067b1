"""Helpers of the configuration tests: audit counts and admin form data."""

from typing import Any

from approvals.models import AuditEvent


def audit_count() -> int:
    return AuditEvent.objects.count()


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()


def _add(data: dict[str, Any], form: Any) -> None:
    for name in form.fields:
        bound = form[name]
        value = bound.value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = str(value)


def admin_form_data(response: Any) -> dict[str, Any]:
    """What the admin change page would post back unchanged: the main form and its inlines
    (date-time fields excepted: tests set those themselves)."""
    data: dict[str, Any] = {}
    _add(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        _add(data, inline.formset.management_form)
        for form in inline.formset.forms:
            _add(data, form)
    return data


def split(value: Any) -> tuple[str, str]:
    """A datetime as the admin's split date and time inputs, typed in the change manager's
    time zone (the demo users read Beijing time)."""
    import zoneinfo

    from django.utils import timezone

    from approvals.demo import DEMO_TIME_ZONE

    local = timezone.localtime(value, zoneinfo.ZoneInfo(DEMO_TIME_ZONE))
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
