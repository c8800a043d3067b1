"""What every page needs: the acting user, role guards, and domain errors mapped to responses."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_htmx.http import reswap, retarget

from approvals.exceptions import DomainError, InvalidInput, InvalidTransition, NotAllowed, NotFound
from approvals.policy import Actor
from approvals.selectors import load_actor

STATUS = {NotAllowed: 403, InvalidTransition: 409, NotFound: 404, InvalidInput: 400}


def user_of(request: HttpRequest) -> User:
    """The signed-in user (every view that calls this is behind login_required)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAllowed(_("Sign in first."))
    return user


def actor_of(request: HttpRequest) -> Actor:
    """The request's actor, loaded once per request."""
    actor = getattr(request, "_actor", None)
    if actor is None:
        actor = load_actor(user_of(request))
        request._actor = actor  # type: ignore[attr-defined]
    return actor


def status_of(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def error_page(request: HttpRequest, error: DomainError | str, status: int) -> HttpResponse:
    message = error if isinstance(error, str) else error.message
    titles = {
        403: _("Not allowed"),
        404: _("Not found"),
        409: _("Not possible now"),
        400: _("Invalid input"),
    }
    context = {"message": message, "title": titles.get(status, _("Error")), "status": status}
    if getattr(request, "htmx", False) and request.htmx.target:  # type: ignore[attr-defined]
        response = render(request, "approvals/partials/_error.html", context, status=status)
        # Errors land in the target's message slot, leaving the row and its form in place.
        target = f"#{request.htmx.target} .inline-error"  # type: ignore[attr-defined]
        return reswap(retarget(response, target), "innerHTML")
    return render(request, "approvals/error.html", context, status=status)


def role_required(*roles: str) -> Callable:
    """Only users holding one of `roles` see the page; everyone else gets 403."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not actor_of(request).roles & set(roles):
                return error_page(request, _("This page is not available to your role."), 403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def domain_errors(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Domain errors become 403/404/409 pages (or inline messages for htmx requests)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return error_page(request, error, status_of(error))

    return wrapper


def form_errors(form: Any, error: InvalidInput, rename: dict[str, str] | None = None) -> None:
    """Put a domain InvalidInput's messages next to the form's fields."""
    for name, messages in error.errors.items():
        name = (rename or {}).get(name, name)
        field = name if name in form.fields else None
        for message in messages:
            form.add_error(field, message)
