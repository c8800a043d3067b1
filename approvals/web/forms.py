"""Forms validate input shape; the domain (approvals.fields, the services) validates meaning."""

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from approvals.choices import (
    Category,
    ChangeType,
    DecisionKind,
    Impact,
    Outcome,
    ReviewOutcome,
    Risk,
    Role,
    TemplateStatus,
)
from approvals.fields import year_out_of_range
from approvals.limits import (
    DELEGATION_REASON_MAX,
    DESCRIPTION_MAX,
    NARRATIVE_MAX,
    NOTE_MAX,
    PLAN_MAX,
    TITLE_MAX,
)
from approvals.models import ChangeRequest, ChangeTemplate, Department
from approvals.web.templatetags import action_label

User = get_user_model()

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    """The browser's date picker, which reads and writes ISO dates whatever the language."""

    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


def _text_area(rows: int, limit: int) -> forms.Textarea:
    # The browser counts a line break as one character, and the services store it as one; a
    # form's max_length would count the CRLF a browser posts as two. So the limit is announced
    # here and enforced by the services (approvals.limits).
    return forms.Textarea(attrs={"rows": rows, "maxlength": limit})


class ChangeForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=TITLE_MAX,
        help_text=_("A short name that says what changes, e.g. “Upgrade the ticketing database”."),
    )
    description = forms.CharField(
        label=_("Description"),
        widget=_text_area(4, DESCRIPTION_MAX),
        help_text=_("What will be done, step by step, in plain words."),
    )
    goal = forms.CharField(
        label=_("Goal"),
        required=False,
        widget=_text_area(2, NARRATIVE_MAX),
        help_text=_("Why the change is needed: the objective it serves."),
    )
    scope = forms.CharField(
        label=_("Scope"),
        required=False,
        widget=_text_area(2, NARRATIVE_MAX),
        help_text=_("Systems, services, processes and people the change touches."),
    )
    expected_impact = forms.CharField(
        label=_("Expected impact"),
        required=False,
        widget=_text_area(2, NARRATIVE_MAX),
        help_text=_("What users will notice during and after the change (downtime, slowness)."),
    )
    change_type = forms.ChoiceField(
        label=_("Change type"),
        choices=ChangeType.choices,
        help_text=_(
            "Normal: assessed and approved by tiers. Emergency: fast track through the ECAB. "
            "Standard: pre-approved, from the catalogue."
        ),
    )
    template = forms.ModelChoiceField(
        label=_("Standard change template"),
        queryset=ChangeTemplate.objects.filter(status=TemplateStatus.APPROVED),
        required=False,
        empty_label=_("— none —"),
        help_text=_(
            "Required for a standard change, and only for one. A title, description or plan "
            "left blank is taken from the template."
        ),
    )
    category = forms.ChoiceField(
        label=_("Category"),
        choices=_blank(_("— choose —")) + list(Category.choices),
        required=False,
    )
    impact = forms.ChoiceField(
        label=_("Impact"),
        choices=Impact.choices,
        help_text=_(
            "Your estimate; the assessor confirms it. High or critical impact needs backout and "
            "test plans before submitting."
        ),
    )
    departments = forms.ModelMultipleChoiceField(
        label=_("Affected departments"),
        queryset=Department.objects.all(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Your own department is always included; two or more make a cross-department change."
        ),
    )
    implementer = forms.ChoiceField(
        label=_("Implementer"), required=False, help_text=_("Optional until approval.")
    )
    planned_start = forms.DateTimeField(
        label=_("Planned start"),
        required=False,
        widget=DateTimeLocal(),
        input_formats=DATETIME_FORMATS,
    )
    planned_end = forms.DateTimeField(
        label=_("Planned end"),
        required=False,
        widget=DateTimeLocal(),
        input_formats=DATETIME_FORMATS,
        help_text=_("Must be after the planned start."),
    )
    backout_plan = forms.CharField(
        label=_("Backout plan"),
        required=False,
        widget=_text_area(3, PLAN_MAX),
        help_text=_("How to return to the previous state if the change goes wrong."),
    )
    test_plan = forms.CharField(
        label=_("Test plan"),
        required=False,
        widget=_text_area(3, PLAN_MAX),
        help_text=_("How you will check that the change worked."),
    )
    attachments = MultipleFileField(
        label=_("Background material (attachments)"),
        required=False,
        help_text=_("Documents that help approvers decide; several files may be chosen."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        implementers = User.objects.filter(groups__name=Role.IMPLEMENTER, is_active=True).order_by(
            "username"
        )
        self.fields["implementer"].choices = _blank(_("— later —")) + [  # type: ignore[attr-defined]
            (u.username, u.get_full_name() or u.username) for u in implementers
        ]
        if self.is_bound and self._standard_with_template():
            # The catalogue template already says what the change is, does and affects.
            for name in ("title", "description", "impact"):
                self.fields[name].required = False

    def _standard_with_template(self) -> bool:
        return self.data.get("change_type") == ChangeType.STANDARD and bool(
            self.data.get("template")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        template = cleaned.get("template")
        if cleaned.get("change_type") == ChangeType.STANDARD and template is not None:
            cleaned["title"] = cleaned.get("title") or template.name
            cleaned["description"] = cleaned.get("description") or template.description
            cleaned["impact"] = template.impact
        return cleaned

    def to_data(self) -> dict[str, Any]:
        """API-shaped data for the workflow services."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "attachments"}
        data["departments"] = [d.code for d in data["departments"]]
        data["template"] = data["template"].pk if data["template"] else None
        data["implementer"] = data["implementer"] or None
        return data

    @staticmethod
    def initial_from_query(query: Any) -> dict[str, Any]:
        """A new change started from the catalogue: `?change_type=standard&template=<id>`."""
        template = query.get("template", "")
        if query.get("change_type") != ChangeType.STANDARD or not template.isdigit():
            return {}
        return {"change_type": ChangeType.STANDARD, "template": int(template)}

    @staticmethod
    def initial_for(change: ChangeRequest) -> dict[str, Any]:
        initial = {name: getattr(change, name) for name in ChangeForm.base_fields}
        initial["departments"] = list(change.departments.all())
        initial["implementer"] = change.implementer.username if change.implementer else ""
        initial.pop("attachments")
        return initial


class DecisionForm(forms.Form):
    """A decision names the step it decides, so a stale tab cannot decide a later one."""

    decision = forms.ChoiceField(label=_("Decision"), choices=DecisionKind.choices)
    step = forms.IntegerField(min_value=1, max_value=2**53, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=_text_area(2, NOTE_MAX),
        help_text=_("Required to reject or to request information."),
    )
    outcome = forms.ChoiceField(
        label=_("Review outcome"), choices=[("", ""), *ReviewOutcome.choices], required=False
    )
    actions = forms.CharField(label=_("Follow-up actions"), required=False, max_length=NOTE_MAX)


class AssessmentStopForm(forms.Form):
    """The assessor sends a submitted change back or rejects it (no step yet)."""

    decision = forms.ChoiceField(
        choices=[(DecisionKind.REJECT, ""), (DecisionKind.REQUEST_INFO, "")]
    )
    comment = forms.CharField(widget=_text_area(3, NOTE_MAX))


class ReassignForm(forms.Form):
    step = forms.IntegerField(min_value=1, max_value=2**53, widget=forms.HiddenInput)
    from_user = forms.CharField(required=False, max_length=150)
    to_user = forms.CharField(max_length=150)
    reason = forms.CharField(widget=_text_area(2, NOTE_MAX))

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None:  # the page's field names: from, to
            data = {
                "step": data.get("step"),
                "from_user": data.get("from", ""),
                "to_user": data.get("to", ""),
                "reason": data.get("reason", ""),
            }
        super().__init__(data, **kwargs)


class RescheduleForm(forms.Form):
    planned_start = forms.DateTimeField(
        label=_("New planned start"), widget=DateTimeLocal(), input_formats=DATETIME_FORMATS
    )
    planned_end = forms.DateTimeField(
        label=_("New planned end"), widget=DateTimeLocal(), input_formats=DATETIME_FORMATS
    )
    reason = forms.CharField(label=_("Reason"), widget=_text_area(2, NOTE_MAX))


class AssessForm(forms.Form):
    impact = forms.ChoiceField(label=_("Impact"), choices=Impact.choices)
    risk = forms.ChoiceField(label=_("Risk"), choices=Risk.choices)
    notes = forms.CharField(
        label=_("Assessment notes"),
        required=False,
        widget=_text_area(4, NOTE_MAX),
        help_text=_("Feasibility, impact and risk as the technical team sees them."),
    )


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    notes = forms.CharField(
        label=_("Implementation notes"), required=False, widget=_text_area(3, NOTE_MAX)
    )


class FeedbackForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary"),
        widget=_text_area(3, NOTE_MAX),
        help_text=_("What was done and how it went."),
    )
    lessons = forms.CharField(
        label=_("Lessons learned"), required=False, widget=_text_area(3, NOTE_MAX)
    )


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Comment"),
        help_text=_("Type @ and a username to notify someone who can see this change."),
        widget=_text_area(3, NOTE_MAX),
    )


class WithdrawForm(forms.Form):
    comment = forms.CharField(
        label=_("Reason for withdrawing"), required=False, widget=_text_area(2, NOTE_MAX)
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class DelegationForm(forms.Form):
    delegate = forms.ChoiceField(
        label=_("Delegate"), help_text=_("Who decides your steps while you are away.")
    )
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=DateTimeLocal(), input_formats=DATETIME_FORMATS
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at"), widget=DateTimeLocal(), input_formats=DATETIME_FORMATS
    )
    reason = forms.CharField(label=_("Reason"), max_length=DELEGATION_REASON_MAX, required=False)

    def __init__(self, *args: Any, user_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = (
            User.objects.filter(is_active=True)
            .exclude(pk=user_id)
            .exclude(groups__name=Role.AUDITOR)
            .order_by("username")
        )
        self.fields["delegate"].choices = _blank(_("— choose —")) + [  # type: ignore[attr-defined]
            (u.username, f"{u.get_full_name() or u.username} ({u.username})") for u in users
        ]


class AuditFilterForm(forms.Form):
    change = forms.CharField(label=_("Change"), required=False, help_text=_("e.g. CHG-000042"))
    actor = forms.CharField(label=_("Actor"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = _blank(_("any")) + [  # type: ignore[attr-defined]
            (a, action_label(a)) for a in actions
        ]


def _sensible_day(value: date | None) -> date | None:
    problem = year_out_of_range(value) if value else ""
    if problem:
        raise forms.ValidationError(problem)
    return value


class MetricsPeriodForm(forms.Form):
    """The days the metrics cover, both included; blank: the last 90 days."""

    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean_since(self) -> date | None:
        return _sensible_day(self.cleaned_data.get("since"))

    def clean_until(self) -> date | None:
        return _sensible_day(self.cleaned_data.get("until"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("Give an end on or after the start."))
        return cleaned
