from django.urls import path
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from approvals.identity import views
from approvals.identity.oidc import SsoStartView

app_name = "identity"

urlpatterns = [
    path("mfa/", views.mfa_manage, name="mfa_manage"),
    path("mfa/verify/", views.mfa_verify, name="mfa_verify"),
    path("mfa/enrol/", views.mfa_enrol, name="mfa_enrol"),
]

# mozilla-django-oidc's views keep their own names (its backend reverses the callback's).
sso_urlpatterns = [
    path("authenticate/", SsoStartView.as_view(), name="oidc_authentication_init"),
    path(
        "callback/", OIDCAuthenticationCallbackView.as_view(), name="oidc_authentication_callback"
    ),
]
