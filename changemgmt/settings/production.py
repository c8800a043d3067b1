"""Production: every secret and host comes from the environment; refuses to start without them."""

from django.core.exceptions import ImproperlyConfigured

from changemgmt.env import env_bool, env_int, env_list, env_str

from .base import *  # noqa: F403
from .base import (
    ALLOWED_HOSTS,
    DATABASES,
    DEBUG,
    EMAIL_CLAIM_TIMEOUT_SECONDS,
    EMAIL_TIMEOUT,
    REDIS_URL,
    REDIS_VISIBILITY_TIMEOUT,
    SECRET_KEY,
    SLA_SCAN_MAX_SECONDS,
    WEBHOOK_SENDING_TIMEOUT_SECONDS,
    WEBHOOK_TIMEOUT_SECONDS,
)

if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")
# The embedded defaults (SQLite, the filesystem broker, a cache folder) serve one machine and a
# handful of users; production is several web processes and workers sharing PostgreSQL and Redis.
if not env_str("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must be set in production")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database in production")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production (broker and shared cache)")
# A claim that may lapse while its worker is still sending means the same e-mail or webhook twice.
if EMAIL_CLAIM_TIMEOUT_SECONDS < 2 * EMAIL_TIMEOUT:
    raise ImproperlyConfigured("EMAIL_CLAIM_TIMEOUT_SECONDS must be at least twice EMAIL_TIMEOUT")
if WEBHOOK_SENDING_TIMEOUT_SECONDS < 2 * WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "WEBHOOK_SENDING_TIMEOUT_SECONDS must be at least twice WEBHOOK_TIMEOUT_SECONDS"
    )

if SLA_SCAN_MAX_SECONDS >= REDIS_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured("SLA_SCAN_MAX_SECONDS must be below REDIS_VISIBILITY_TIMEOUT")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS only: plain HTTP is redirected (the health endpoints excepted, for probes from inside the
# deployment), and browsers are told to use HTTPS for a year, subdomains included, and may list
# the site as HTTPS-only (SECURE_HSTS_SECONDS=0 or SECURE_HSTS_PRELOAD=0 to opt out, e.g. while
# trying HTTPS out).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

from changemgmt.env import env_bool as _env_bool  # noqa: E402

# Two-step sign-in for those who configure, audit or administer (MFA_REQUIRED_ROLES= to opt out).
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", ["change_manager", "auditor", "staff"])

# Webhook receivers get audit data: only over TLS (WEBHOOK_REQUIRE_HTTPS=0 to opt out).
WEBHOOK_REQUIRE_HTTPS = _env_bool("WEBHOOK_REQUIRE_HTTPS", True)
