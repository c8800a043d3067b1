"""Each reader's time zone and language: activated for every request of a signed-in user, and
set on their "My settings" page.

The two values are read from the profile once per session and kept in it, so pages cost no
extra query; the settings page refreshes them. A change manager's edit in the admin reaches the
person's pages at their next sign-in."""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from approvals.exceptions import InvalidInput
from approvals.localization import time_zone_names, zone_named
from approvals.models import Profile
from approvals.web.common import form_errors, user_of
from approvals.workflow.preferences import preferences_save

SESSION_KEY = "preferences"

Handler = Callable[[HttpRequest], HttpResponse]


def _load(user_id: int) -> dict[str, str]:
    row = Profile.objects.filter(user_id=user_id).values_list("time_zone", "language").first()
    time_zone, language = row or ("", "")
    return {"user": str(user_id), "time_zone": time_zone, "language": language}


def remember(request: HttpRequest, *, time_zone: str, language: str) -> None:
    request.session[SESSION_KEY] = {
        "user": str(request.user.pk),
        "time_zone": time_zone,
        "language": language,
    }


def preferences_of(request: HttpRequest) -> dict[str, str]:
    """The signed-in user's time zone and language, from the session (loaded once)."""
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("user") != str(request.user.pk):
        stored = _load(int(request.user.pk or 0))
        request.session[SESSION_KEY] = stored
    return stored


class UserPreferencesMiddleware:
    """Activates the signed-in user's time zone (forms read typed times in it, pages print times
    in it) and, unless the browser chose a language with the switcher, their language."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not hasattr(request, "session"):
            timezone.deactivate()
            return self.get_response(request)
        preferences = preferences_of(request)
        timezone.activate(zone_named(preferences.get("time_zone", "")))
        language = preferences.get("language", "")
        if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("Times are shown and typed in this zone."),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        help_text=gettext_lazy("Pages, notifications and e-mails are written in it."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        site_zone = _("The site's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
        site_language = _("The site's language")
        self.fields["time_zone"].choices = [("", site_zone)] + [  # type: ignore[attr-defined]
            (name, name) for name in time_zone_names()
        ]
        self.fields["language"].choices = [("", site_language)] + [  # type: ignore[attr-defined]
            (code, translation.get_language_info(code)["name_local"])
            for code, _name in settings.LANGUAGES
        ]


@login_required
@require_http_methods(["GET", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    current = preferences_of(request)
    form = PreferencesForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            profile = preferences_save(user=user, **form.cleaned_data)
        except InvalidInput as error:
            form_errors(form, error)
        else:
            remember(request, time_zone=profile.time_zone, language=profile.language)
            response = redirect("web:my_settings")
            # The chosen language now, in this browser too (the switcher's cookie would win).
            language = profile.language or settings.LANGUAGE_CODE
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
            with translation.override(language):
                messages.success(request, _("Your settings are saved."))
            return response
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "now": timezone.now(), "zone": timezone.get_current_timezone_name()}
    return render(request, "approvals/my_settings.html", context, status=status)
