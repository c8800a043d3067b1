"""The decision link's confirmation page (no sign-in: the link is the credential), the
preferences page, and `GET/PUT /api/v1/me/preferences/`."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.docs import errors
from approvals.api.views.base import ApiMixin, acting_user
from approvals.choices import DecisionKind
from approvals.exceptions import DomainError, InvalidInput
from approvals.localization import localized
from approvals.web.common import form_errors, user_of
from approvals_channels import links, preferences


def _summary(link: Any) -> dict[str, Any]:
    step = link.step
    change = step.change
    return {
        "change": change,
        "step_name": localized(step),
        "approver": link.user,
        "decision": link.decision,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def decide(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the change and the decision the link proposes, to confirm. POST: decide, once."""
    link = links.find(token)
    context: dict[str, Any] = {"token": token, "choices": links.DECISIONS}
    refused = links.refusal(link)
    if refused:
        context["refusal"] = refused
        if link is not None:
            context |= _summary(link)
        return render(
            request, "approvals_channels/decide.html", context, status=404 if link is None else 410
        )
    assert link is not None
    context |= _summary(link)
    if request.method == "GET":
        return render(request, "approvals_channels/decide.html", context)
    decision = request.POST.get("decision", "")
    comment = request.POST.get("comment", "")
    try:
        links.decide_by_link(token=token, decision=decision, comment=comment)
    except InvalidInput as invalid:
        context |= {
            "errors": [m for msgs in invalid.errors.values() for m in msgs],
            "comment": comment,
        }
        return render(request, "approvals_channels/decide.html", context, status=400)
    except DomainError as refusal:
        context["refusal"] = refusal.message
        return render(request, "approvals_channels/decide.html", context, status=409)
    context["done"] = dict(DecisionKind.choices).get(decision, decision)
    return render(request, "approvals_channels/decide.html", context)


class PreferencesForm(forms.Form):
    in_app = forms.BooleanField(label=gettext_lazy("In the application"), required=False)
    email = forms.BooleanField(label=gettext_lazy("By e-mail"), required=False)
    chat = forms.BooleanField(
        label=gettext_lazy("In chat groups"),
        required=False,
        help_text=gettext_lazy(
            "When a step waits for you, the chat groups set up for it get a message with a link "
            "to the change: you sign in and decide on the change page. Chat messages carry no "
            "approve or reject buttons. The groups are told either way; while this is on, the "
            "messages wait for your quiet hours."
        ),
    )
    quiet_start = forms.TimeField(
        label=gettext_lazy("Quiet hours from"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        label=gettext_lazy("Quiet hours until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy(
            "In your time zone. No e-mail or chat message is sent then; they go out when the "
            "quiet hours end."
        ),
    )
    digest = forms.BooleanField(
        label=gettext_lazy("Daily digest e-mail of everything waiting for my decision"),
        required=False,
    )
    digest_hour = forms.TypedChoiceField(
        label=gettext_lazy("Digest at"),
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences_page(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    current = preferences.of(user)
    form = PreferencesForm(request.POST or None, initial=vars(current))
    if request.method == "POST" and form.is_valid():
        try:
            preferences.preferences_save(user=user, data=form.cleaned_data)
        except InvalidInput as invalid:
            form_errors(form, invalid)
        else:
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("approvals_channels:preferences")
    return render(request, "approvals_channels/preferences.html", {"form": form})


PREFERENCES_SCHEMA = inline_serializer(
    "NotificationPreferences",
    fields={
        "in_app": serializers.BooleanField(),
        "email": serializers.BooleanField(),
        "chat": serializers.BooleanField(),
        "quiet_start": serializers.CharField(allow_null=True, help_text="HH:MM, your time zone"),
        "quiet_end": serializers.CharField(allow_null=True, help_text="HH:MM, your time zone"),
        "digest": serializers.BooleanField(),
        "digest_hour": serializers.IntegerField(min_value=0, max_value=23),
    },
)


class PreferencesApiView(ApiMixin):
    """Your own notification preferences: channels, quiet hours, daily digest."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Your notification preferences",
        responses={200: PREFERENCES_SCHEMA},
    )
    def get(self, request: Request) -> Response:
        return Response(preferences.as_data(preferences.of(acting_user(request))))

    @extend_schema(
        summary="Replace your notification preferences",
        request=PREFERENCES_SCHEMA,
        responses={200: PREFERENCES_SCHEMA, **errors(400)},
    )
    def put(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        saved = preferences.preferences_save(user=acting_user(request), data=dict(data))
        return Response(preferences.as_data(saved))
