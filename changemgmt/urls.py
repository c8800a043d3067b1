from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from approvals.identity import urls as identity_urls
from approvals.identity.views import SignInView
from approvals_channels.views import PreferencesApiView
from changemgmt import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("approvals.identity.urls")),
    path("oidc/", include(identity_urls.sso_urlpatterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("health/", health.full_view(), name="health"),
    path("health/live/", health.live_view(), name="health-live"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy allows
    # no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/me/preferences/", PreferencesApiView.as_view(), name="api-preferences"),
    path("api/v1/", include("approvals.api.urls")),
    path("notifications/", include("notifications.urls")),
    path("outbox/", include("notifications.outbox_urls")),
    # Decision links from e-mail and chat, and each person's notification preferences.
    path("", include("approvals_channels.urls")),
    path("", include("approvals.web.urls")),
]

# Under /api/ every error is JSON, whatever raised it; elsewhere Django's pages.
handler400 = "changemgmt.errors.bad_request"
handler403 = "changemgmt.errors.permission_denied"
handler404 = "changemgmt.errors.page_not_found"
handler500 = "changemgmt.errors.server_error"
