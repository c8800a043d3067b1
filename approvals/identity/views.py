"""Sign-in pages: the local form beside single sign-on, and the second step (verify, enrol,
manage). Thin: the services in `mfa` decide and record."""

import base64
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from approvals.exceptions import InvalidInput
from approvals.identity import mfa
from approvals.identity.forms import CodeForm, EnrolForm
from approvals.identity.oidc import oidc_enabled
from approvals.web.common import user_of


class SignInView(auth_views.LoginView):
    """The local form (break-glass and embedded accounts, LDAP) beside the SSO button."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs) | {
            "sso_enabled": oidc_enabled(),
            "sso_name": settings.OIDC_PROVIDER_NAME,
        }


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _pending(request: HttpRequest) -> str | None:
    return request.session.get(mfa.PENDING_SESSION_KEY)


def _second_step_done(request: HttpRequest) -> HttpResponse:
    request.session.pop(mfa.PENDING_SESSION_KEY, None)
    # A new session key once the second factor is in, as after the first.
    request.session.cycle_key()
    return HttpResponseRedirect(_next_url(request))


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    if _pending(request) != mfa.VERIFY:
        return HttpResponseRedirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if mfa.mfa_verify(user=user_of(request), code=form.cleaned_data["code"]):
            return _second_step_done(request)
        form.add_error("code", _("That code is not right. Wait for the next one and try again."))
    return render(
        request, "registration/mfa_verify.html", {"form": form, "next": _next_url(request)}
    )


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    return image.to_string(encoding="unicode")


@login_required
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    # Someone who enrolled but has not given a code yet must not replace the authenticator.
    if _pending(request) == mfa.VERIFY:
        return HttpResponseRedirect(reverse("identity:mfa_verify"))
    user = user_of(request)
    device = mfa.totp_enrolment_start(user=user)
    form = EnrolForm(request.POST or None)
    if form.is_valid():
        try:
            codes = mfa.totp_enrolment_confirm(user=user, token=form.cleaned_data["token"])
        except InvalidInput as error:
            form.add_error("token", str(error))
        else:
            request.session.pop(mfa.PENDING_SESSION_KEY, None)
            request.session.cycle_key()
            return render(
                request, "registration/mfa_codes.html", {"codes": codes, "next": _next_url(request)}
            )
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr": mark_safe(_qr_svg(device.config_url)),  # generated SVG, no input of ours in markup
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "required": mfa.mfa_required(user),
        "next": _next_url(request),
    }
    return render(request, "registration/mfa_enrol.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def mfa_manage(request: HttpRequest) -> HttpResponse:
    if _pending(request) is not None:
        return HttpResponseRedirect(reverse("identity:mfa_verify"))
    user = user_of(request)
    codes: list[str] = []
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            mfa.mfa_remove(user=user)
        elif request.POST.get("action") == "renew":
            try:
                codes = mfa.recovery_codes_renew(user=user)
            except InvalidInput:
                codes = []
        if not codes:
            return HttpResponseRedirect(reverse("identity:mfa_manage"))
    context = {
        "enrolled": mfa.authenticator_of(user) is not None,
        "required": mfa.mfa_required(user),
        "codes_left": mfa.recovery_codes_left(user),
        "codes": codes,
    }
    return render(request, "registration/mfa_manage.html", context)
