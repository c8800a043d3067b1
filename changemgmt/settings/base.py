"""Settings shared by every environment; values come from the environment (see changemgmt.env)."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from changemgmt.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_str("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "pgtrigger",
    "axes",
    "csp",
    "health_check",
    "approvals",
    "approvals.access",
    "approvals.identity",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "approvals.api",
    "integrations",
    "notifications",
    "approvals_channels",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "approvals.middleware.RequestIdMiddleware",
    "approvals.middleware.ApiGuardMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "approvals.middleware.SessionIdleMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in reader's time zone and language (after authentication: it needs the user).
    "approvals.web.preferences.UserPreferencesMiddleware",
    # Between the password and the second factor only the second step's pages are reachable.
    "approvals.identity.middleware.MfaPendingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "changemgmt.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "approvals.web.context_processors.header",
                "notifications.context_processors.unread",
            ],
            "libraries": {"web": "approvals.web.templatetags"},
        },
    },
]

WSGI_APPLICATION = "changemgmt.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A pooled connection that died (database restart) is replaced before use, not failed.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers. WAL lets readers go on while one writes; IMMEDIATE takes the
    # write lock when a transaction starts, so two transactions never both read and then both
    # try to upgrade (that deadlock fails at once with "database is locked", busy timeout or not);
    # the busy timeout lets the web process, worker and beat queue for the lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env_bool(
    "DATABASE_JIT", False
):
    # PostgreSQL compiles a query whose estimated cost is high (the visibility filter of a
    # change list over a large history) before running it: 270 ms of a 350 ms count, for queries
    # that run in milliseconds. Short queries served to people never repay it.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", BASE_DIR / "node_modules")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Attachments live outside the web root and are only served through a permission-checked view.
MEDIA_ROOT = Path(env_str("ATTACHMENT_ROOT", str(VAR_DIR / "attachments")))
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_ALLOWED_EXTENSIONS = env_list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    ["pdf", "txt", "md", "csv", "png", "jpg", "jpeg", "docx", "xlsx", "pptx", "log", "json", "zip"],
)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Mail: console under `make run`, SMTP from the environment in production.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A send that hangs gives up after this long (and is retried), well within the claim timeout.
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 30.0)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "changes@localhost")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# SLA hours of newly opened steps are multiplied by this factor; a demo can shrink an hour to a
# minute (SLA_SCALE=0.0166) to watch reminders and escalation happen.
SLA_SCALE = env_float("SLA_SCALE", 1.0)
# An approved change may start this many minutes before its planned start, and no later than
# its planned end; outside that window `start` is refused (emergencies excepted).
START_GRACE_MINUTES = env_int("START_GRACE_MINUTES", 15)

REDIS_URL = env_str("REDIS_URL")
# Longest silence before Redis hands an unacknowledged task to another worker. It must exceed the
# longest task run and the longest retry countdown, or a task would run twice (every task is
# idempotent, so that costs time, not correctness). Task countdowns are capped at 10 minutes
# (TASK_RETRY_POLICY below); longer waits are never countdowns: a failed webhook delivery or
# outbox event records when it is due again, and the periodic jobs pick it up then.
REDIS_VISIBILITY_TIMEOUT = env_int("REDIS_VISIBILITY_TIMEOUT", 3600)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND: str | None = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": REDIS_VISIBILITY_TIMEOUT,
        # An action's after-commit nudge must not hang a web request on an unreachable Redis:
        # fail fast, the periodic drain delivers later.
        "socket_connect_timeout": 2,
    }
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT}
else:
    # Embedded broker: kombu's filesystem transport, so a worker and beat run with no servers.
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)  # kombu does not create them
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Reliability. Every task is idempotent (ledgers with unique constraints: EventDispatch,
# SlaAction, Notification per event), so running one twice is safe; losing one is not. Hence:
# acknowledge only after the task finished, so a worker that dies mid-task leaves it queued…
CELERY_TASK_ACKS_LATE = True
# …and the same when the process is killed (OOM, SIGKILL): requeue rather than drop.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# With late acks a worker holds what it prefetched; one at a time keeps long tasks from
# stranding short ones behind them and limits what a crash puts back in the queue.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep retrying to reach the broker at start-up instead of exiting (Redis restarting).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Delivery tasks retry with exponential backoff and jitter, capped (see approvals.outbox and
# notifications.tasks); these are the shared numbers.
TASK_RETRY_POLICY = {
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}

# Periodic jobs. A static schedule here rather than django-celery-beat: there are four fixed jobs
# whose only knobs are intervals, which belong with the deployment's environment, reviewed with
# the code, the same in every environment, and needing no database table, admin page or
# migration; change managers never need to edit them at run time. Run exactly ONE beat process
# (Procfile.dev and the deployment start one): a second would send every job twice, which is
# safe (the jobs are idempotent) but wasteful. A job not picked up within its own interval
# expires, so a worker that was down does not face a pile of stale copies.
SLA_SCAN_INTERVAL_SECONDS = env_float("SLA_SCAN_INTERVAL_SECONDS", 60.0)
# One scan works through the whole backlog of reminders and escalations, and stops after this
# long at most (the next scan goes on from there): below REDIS_VISIBILITY_TIMEOUT, or the broker
# would hand the running scan to a second worker.
SLA_SCAN_MAX_SECONDS = env_float("SLA_SCAN_MAX_SECONDS", 240.0)
# Due reminders, stale claims and retry times are decided by the database server's clock, which
# every web server and worker shares (approvals.clock). Tests that move the process's clock turn
# it off; one test turns it on to show a worker with a jumped clock changes nothing.
CLOCK_FROM_DATABASE = True
# How long a worker's claim on an e-mail or a webhook delivery stands before another worker
# takes it over (the first one is presumed dead): well above EMAIL_TIMEOUT and
# WEBHOOK_TIMEOUT_SECONDS, or a slow send is sent twice.
EMAIL_CLAIM_TIMEOUT_SECONDS = env_float("EMAIL_CLAIM_TIMEOUT_SECONDS", 600.0)
WEBHOOK_SENDING_TIMEOUT_SECONDS = env_float("WEBHOOK_SENDING_TIMEOUT_SECONDS", 600.0)
# Retries after a failed send: the first waits the base, each next one twice as long, up to the
# cap. A queued delivery whose message was lost is picked up by the sweep after the grace.
EMAIL_RETRY_BASE_SECONDS = env_float("EMAIL_RETRY_BASE_SECONDS", 60.0)
EMAIL_RETRY_CAP_SECONDS = env_float("EMAIL_RETRY_CAP_SECONDS", 3600.0)
WEBHOOK_BACKOFF_BASE_SECONDS = env_float("WEBHOOK_BACKOFF_BASE_SECONDS", 30.0)
WEBHOOK_BACKOFF_CAP_SECONDS = env_float("WEBHOOK_BACKOFF_CAP_SECONDS", 6 * 3600.0)
WEBHOOK_QUEUED_GRACE_SECONDS = env_float("WEBHOOK_QUEUED_GRACE_SECONDS", 300.0)
DISPATCH_INTERVAL_SECONDS = env_float("DISPATCH_INTERVAL_SECONDS", 60.0)
WEBHOOK_SWEEP_INTERVAL_SECONDS = env_float("WEBHOOK_SWEEP_INTERVAL_SECONDS", 60.0)
AUDIT_SNAPSHOT_INTERVAL_SECONDS = env_float("AUDIT_SNAPSHOT_INTERVAL_SECONDS", 3600.0)
CELERY_BEAT_SCHEDULE = {
    "sla-reminders-and-escalation": {
        "task": "notifications.sla_scan",
        "schedule": SLA_SCAN_INTERVAL_SECONDS,
        "options": {"expires": SLA_SCAN_INTERVAL_SECONDS},
    },
    "dispatch-audit-events": {
        "task": "approvals.dispatch_events",
        "schedule": DISPATCH_INTERVAL_SECONDS,
        "options": {"expires": DISPATCH_INTERVAL_SECONDS},
    },
    "send-pending-emails": {
        "task": "notifications.send_pending_emails",
        "schedule": DISPATCH_INTERVAL_SECONDS,
        "options": {"expires": DISPATCH_INTERVAL_SECONDS},
    },
    # Webhook deliveries that are due (first try lost, retry after backoff, dead worker) are
    # queued again: this sweep owns every webhook retry.
    "requeue-webhooks": {
        "task": "integrations.requeue_webhooks",
        "schedule": WEBHOOK_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": WEBHOOK_SWEEP_INTERVAL_SECONDS},
    },
    # Idempotency keys older than IDEMPOTENCY_TTL_HOURS are forgotten.
    "purge-idempotency-keys": {
        "task": "approvals_api.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "audit-snapshot": {
        "task": "approvals.audit_snapshot",
        "schedule": AUDIT_SNAPSHOT_INTERVAL_SECONDS,
        "options": {"expires": AUDIT_SNAPSHOT_INTERVAL_SECONDS},
    },
}
AUDIT_DISPATCH_BATCH_SIZE = env_int("AUDIT_DISPATCH_BATCH_SIZE", 200)
# An event that fails in a consumer is retried with backoff (1, 2, 4 … minutes); after this many
# attempts it waits on the dead-letter list (/outbox/dead-letters/) for a change manager.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 5)
# Sequence numbers are taken at insert but become visible at commit: seal only events older than
# this, so a transaction still in flight cannot later land inside a sealed range.
AUDIT_SNAPSHOT_MARGIN_SECONDS = env_float("AUDIT_SNAPSHOT_MARGIN_SECONDS", 60.0)

# --- audit evidence (docs/audit-evidence.md) -------------------------------------------------
# Migrations (and grant_runtime_role) connect as the tables' owner; the web, worker and beat use
# DATABASE_URL, a runtime role that may not update, delete or truncate the audit trail.
MIGRATE_DATABASE_URL = env_str("MIGRATE_DATABASE_URL")
# Signed checkpoints: an Ed25519 private key in a file the database never sees (created on first
# use only when AUDIT_SIGNING_KEY_CREATE is on: `make run` and tests), and a directory outside
# the database for the checkpoint files (point it at WORM / object-lock storage in production).
AUDIT_SIGNING_KEY = env_str("AUDIT_SIGNING_KEY", str(VAR_DIR / "audit-signing-key.pem"))
AUDIT_SIGNING_KEY_CREATE = env_bool("AUDIT_SIGNING_KEY_CREATE", DEBUG)
# Verifiers that hold no signing key are given the public key instead.
AUDIT_PUBLIC_KEY = env_str("AUDIT_PUBLIC_KEY")
AUDIT_CHECKPOINT_DIR = env_str("AUDIT_CHECKPOINT_DIR", str(VAR_DIR / "audit-checkpoints"))
AUDIT_CHECKPOINT_SECONDS = env_float("AUDIT_CHECKPOINT_SECONDS", 60.0)
# As for snapshots: only events older than this are checkpointed (a transaction in flight must
# not land inside a signed tree); an event is under a signed checkpoint within margin + interval.
AUDIT_CHECKPOINT_MARGIN_SECONDS = env_float("AUDIT_CHECKPOINT_MARGIN_SECONDS", 10.0)
AUDIT_CHECKPOINT_MAX_LEAVES = env_int("AUDIT_CHECKPOINT_MAX_LEAVES", 100_000)
# Each checkpoint is also POSTed here when set (a witness outside our control).
AUDIT_WITNESS_URL = env_str("AUDIT_WITNESS_URL")
AUDIT_WITNESS_TIMEOUT_SECONDS = env_float("AUDIT_WITNESS_TIMEOUT_SECONDS", 5.0)
# A full verification of the trail against the checkpoints runs this often.
AUDIT_VERIFY_SECONDS = env_float("AUDIT_VERIFY_SECONDS", 3600.0)
CELERY_BEAT_SCHEDULE |= {
    "audit-checkpoint": {
        "task": "approvals.audit_checkpoint",
        "schedule": AUDIT_CHECKPOINT_SECONDS,
        "options": {"expires": AUDIT_CHECKPOINT_SECONDS},
    },
    "audit-verify": {
        "task": "approvals.audit_verify_scheduled",
        "schedule": AUDIT_VERIFY_SECONDS,
        "options": {"expires": AUDIT_VERIFY_SECONDS},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "approvals.access.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # A body nested too deeply for the decoder is a malformed body (400), not a server error.
    # JSON only: the one upload (attachments) declares multipart itself, so the schema advertises
    # exactly one body per operation and generated clients stay simple.
    "DEFAULT_PARSER_CLASSES": ["approvals.api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "approvals.api.pagination.PagePagination",
    "EXCEPTION_HANDLER": "approvals.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_USER", "1200/minute"),
        "anon": env_str("API_THROTTLE_ANON", "120/minute"),
    },
}

# Integrations called with each batch of committed audit events (audit events are the outbox).
AUDIT_EVENT_CONSUMERS = [
    "integrations.webhooks.enqueue_deliveries",
    "notifications.consumers.notify",
    "approvals_channels.chat.enqueue_messages",
]
# Where the outbox keeps its ledger (one row per event and consumer) and its per-consumer floor.
AUDIT_DISPATCH_LEDGER = "notifications.EventDispatch"
AUDIT_DISPATCH_FLOOR = "notifications.EventDispatchFloor"
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10)
# Chat robots (approvals_channels): attempts per message before it is given up; the sweep that
# retries them and sends what quiet hours held back, and the hourly check for daily digests.
CHAT_MAX_ATTEMPTS = env_int("CHAT_MAX_ATTEMPTS", 10)
CELERY_BEAT_SCHEDULE |= {
    "chat-sweep": {
        "task": "approvals_channels.send_pending_chat",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "daily-digest": {
        "task": "approvals_channels.send_digests",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}
# Receivers must be https (on in production settings). Loopback, private, link-local, multicast,
# reserved and cloud-metadata addresses are refused when a subscription is saved and again when
# each delivery is sent, unless listed here (CIDR networks or host names, e.g. an on-premises
# receiver "hooks.internal,10.20.0.0/16").
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", False)
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", [])
IDEMPOTENCY_TTL_HOURS = env_int("IDEMPOTENCY_TTL_HOURS", 24)

SPECTACULAR_SETTINGS = {
    "TITLE": "Change approval API",
    "DESCRIPTION": "Change requests, assessment, tiered approval, implementation and audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from our own static files: the Content-Security-Policy allows no other origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "LevelEnum": "approvals.choices.Impact",
        "StepKindEnum": "approvals.choices.StepKind",
        "WarningKindEnum": "approvals.api.serializers.changes.WARNING_KINDS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "approvals.api.docs.add_common_responses",
    ],
}

# One line per record on stderr: JSON (LOG_FORMAT=json, the default) for log collectors, or
# plain text for a terminal (`make run`). Every line names the request id, the signed-in user and
# the Celery task id when there is one.
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "changemgmt.observability.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "changemgmt.observability.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s %(task_id)s] "
            "%(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Each failed sign-in is logged by django-axes at WARNING; its routine chatter is noise.
        "axes": {"level": "WARNING"},
    },
}
# Celery would replace these handlers in the worker; keep one format everywhere.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- access ----------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires: it refuses a locked-out account before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in lockout (pages, admin and the API token endpoint): after AXES_FAILURE_LIMIT wrong
# passwords for one account from one address, that pair is refused for the cool-off period.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("AXES_COOLOFF_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts made while locked out do not push the end of the cool-off further away.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "approvals.access.lockout.lockout_response"
# Behind a reverse proxy, the number of proxies in front of the application (0: none), so that
# the client's address is read from X-Forwarded-For rather than the proxy's own.
AXES_IPWARE_PROXY_COUNT = env_int("PROXY_COUNT", 0) or None
if AXES_IPWARE_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_ORDER = "right-most"

# --- enterprise sign-in (README "Single sign-on, LDAP and two-step sign-in") ------------------

# OpenID Connect (mozilla-django-oidc): offered beside the local form when a client is set.
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# Directory group → role, e.g. "it-heads=approver,cab=cab,change-office=change_manager".
OIDC_ROLE_MAP = env_str("OIDC_ROLE_MAP")
OIDC_DEPARTMENT_CLAIM = env_str("OIDC_DEPARTMENT_CLAIM", "department")
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"

# LDAP / Active Directory (django-auth-ldap): passwords checked by the directory when set.
LDAP_SERVER_URI = env_str("LDAP_SERVER_URI")
LDAP_ROLE_MAP = env_str("LDAP_ROLE_MAP")
LDAP_DEPARTMENT_ATTRIBUTE = env_str("LDAP_DEPARTMENT_ATTRIBUTE", "departmentNumber")
if LDAP_SERVER_URI:
    from approvals.identity.ldap_config import ldap_settings

    globals().update(
        ldap_settings(
            server_uri=LDAP_SERVER_URI,
            bind_dn=env_str("LDAP_BIND_DN"),
            bind_password=env_str("LDAP_BIND_PASSWORD"),
            user_search_base=env_str("LDAP_USER_SEARCH_BASE"),
            user_filter=env_str("LDAP_USER_FILTER", "(uid=%(user)s)"),
            group_search_base=env_str("LDAP_GROUP_SEARCH_BASE"),
            group_type=env_str("LDAP_GROUP_TYPE", "groupOfNames"),
            start_tls=env_bool("LDAP_START_TLS", False),
        )
    )
    # After the lockout's check, before local passwords (break-glass accounts stay local).
    AUTHENTICATION_BACKENDS.insert(1, "approvals.identity.ldap.DirectoryLDAPBackend")
if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.append("approvals.identity.oidc.DirectoryOIDCBackend")

# Two-step sign-in (django-otp): required for these roles ("staff": staff and superusers),
# optional for everyone else. Production requires it of change managers, auditors and staff.
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", [])
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Change approvals")

# API tokens live this many days (then the client asks for a new one).
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 30)

# A session ends after this many minutes without a request (the cookie's age restarts with use).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 480)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "approvals.sessions"
SESSION_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy: scripts and styles only from our own static files, no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "changemgmt.errors.csrf_failure"
REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Request limits. API bodies above these get 413 (JSON); attachments may add their own size.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BYTES", 1024 * 1024)
API_MAX_URL_LENGTH = env_int("API_MAX_URL_LENGTH", 4096)

# --- cache, health, error tracking -----------------------------------------------------------

# Throttle counters and the scheduler's heartbeat live here: on Redis when there is one, so every
# web process counts the same.
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "changemgmt",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # A folder, not process memory: under `make run` the web process, worker and beat are
    # separate processes and must see the same heartbeat and throttle counters.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# The beat scheduler stamps a heartbeat this often; /health/ fails when it is older than
# HEALTH_BEAT_MAX_AGE_SECONDS. /health/ also fails when the oldest audit event not yet handed
# to every consumer is older than HEALTH_OUTBOX_MAX_LAG_SECONDS.
HEARTBEAT_INTERVAL_SECONDS = env_float("HEARTBEAT_INTERVAL_SECONDS", 60.0)
HEALTH_BEAT_MAX_AGE_SECONDS = env_float("HEALTH_BEAT_MAX_AGE_SECONDS", 300.0)
HEALTH_OUTBOX_MAX_LAG_SECONDS = env_float("HEALTH_OUTBOX_MAX_LAG_SECONDS", 900.0)
CELERY_BEAT_SCHEDULE |= {
    "heartbeat": {
        "task": "changemgmt.heartbeat",
        "schedule": HEARTBEAT_INTERVAL_SECONDS,
        "options": {"expires": HEARTBEAT_INTERVAL_SECONDS},
    },
    "purge-expired-api-tokens": {
        "task": "access.purge_expired_tokens",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}
CELERY_IMPORTS = ["changemgmt.health", "approvals.access.tasks"]

# Error tracking: only when SENTRY_DSN is set.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from changemgmt.observability import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "production"))
