"""Production: every secret and host comes from the environment; refuses to start without them."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DEBUG, SECRET_KEY

if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

from changemgmt.env import env_bool as _env_bool  # noqa: E402

# Webhook receivers get audit data: only over TLS (WEBHOOK_REQUIRE_HTTPS=0 to opt out).
WEBHOOK_REQUIRE_HTTPS = _env_bool("WEBHOOK_REQUIRE_HTTPS", True)
