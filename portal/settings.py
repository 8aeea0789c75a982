"""Settings for the Clearfacts portal: one module, configured from environment variables.

With nothing set, the portal runs embedded: SQLite, a filesystem Celery broker, a file cache and
the sandbox standing in for Clearfacts and Clearvo. Every variable is listed in .env.example.
"""

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_float, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", True)

_EMBEDDED_SECRET_KEY = "django-insecure-embedded-mode-only-3f9c2d1e847b6a9c12d3f0e1a2b7c8"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0")
    SECRET_KEY = _EMBEDDED_SECRET_KEY
elif not DEBUG and SECRET_KEY == _EMBEDDED_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must not be the embedded-mode key when DEBUG=0")

PORT = env_int("PORT", 8000, minimum=1)
SITE_URL = env_url("SITE_URL", f"http://localhost:{PORT}")
_site = urlsplit(SITE_URL)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    [_site.hostname, "localhost", "127.0.0.1", "[::1]"] if DEBUG else [_site.hostname],
)
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

# The sandbox simulates Clearfacts and Clearvo inside this site; on by default only in development
# (SANDBOX left empty, as in .env.example, follows DEBUG too).
SANDBOX = env_bool("SANDBOX", DEBUG) if env_str("SANDBOX").strip() else DEBUG
SANDBOX_FAULT_RATE = env_float("SANDBOX_FAULT_RATE", 0.0, maximum=1.0)
SANDBOX_LATENCY_MS = env_int("SANDBOX_LATENCY_MS", 0)
SANDBOX_TIME_FACTOR = env_float("SANDBOX_TIME_FACTOR", 1.0, minimum=1.0)
SANDBOX_BANDWIDTH_KBPS = env_int("SANDBOX_BANDWIDTH_KBPS", 0)  # 0: request bodies are read at full speed
# The sandbox's OpenID provider as OpenID Connect Core §11 has it: offline_access only with prompt=consent.
SANDBOX_OIDC_STRICT_OFFLINE_ACCESS = env_bool("SANDBOX_OIDC_STRICT_OFFLINE_ACCESS", False)
SANDBOX_OIDC_ISSUER_TRAILING_SLASH = env_bool("SANDBOX_OIDC_ISSUER_TRAILING_SLASH", False)
# The sandbox's Clearfacts without the fields the SDL marks @assumed, as Clearfacts' public documentation has it.
SANDBOX_CLEARFACTS_DOCUMENTED_ONLY = env_bool("SANDBOX_CLEARFACTS_DOCUMENTED_ONLY", False)
# Credentials the sandbox seed registers; only ever defaults while SANDBOX=1.
SANDBOX_OIDC_CLIENT_ID = "clearfacts-portal"
SANDBOX_OIDC_CLIENT_SECRET = "sandbox-client-secret-for-embedded-mode-only"  # noqa: S105
SANDBOX_CLEARVO_TEST_KEY = "ck_test_sandbox_4f1c9a7e2b6d8035"
SANDBOX_CLEARVO_LIVE_KEY = "ck_live_sandbox_9b2e5d7a1c3f6084"

_sandbox_url = f"{SITE_URL}/sandbox"
CLEARFACTS_OIDC_ISSUER = env_url("CLEARFACTS_OIDC_ISSUER", f"{_sandbox_url}/clearfacts" if SANDBOX else "", exact=True)
CLEARFACTS_GRAPHQL_URL = env_url("CLEARFACTS_GRAPHQL_URL", f"{_sandbox_url}/clearfacts/graphql" if SANDBOX else "")
CLEARVO_API_URL = env_url("CLEARVO_API_URL", f"{_sandbox_url}/clearvo/v1" if SANDBOX else "")
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", SANDBOX_OIDC_CLIENT_ID if SANDBOX else "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", SANDBOX_OIDC_CLIENT_SECRET if SANDBOX else "")
CLEARVO_API_KEY = env_str("CLEARVO_API_KEY", SANDBOX_CLEARVO_TEST_KEY if SANDBOX else "")
# How long pages reuse what they read from Clearfacts (per user and question); refresh buttons skip it.
CLEARFACTS_READ_CACHE_SECONDS = env_int("CLEARFACTS_READ_CACHE_SECONDS", 120)
# Uploaded documents: the largest file and batch accepted, and when the sweeper re-sends a forgotten one.
DOCUMENT_MAX_UPLOAD_BYTES = env_int("DOCUMENT_MAX_UPLOAD_MB", 250, minimum=1) * 1024 * 1024
DOCUMENT_MAX_BATCH_BYTES = env_int("DOCUMENT_MAX_BATCH_MB", 1000, minimum=1) * 1024 * 1024
DOCUMENT_SWEEP_AFTER_SECONDS = env_int("DOCUMENT_SWEEP_AFTER_SECONDS", 300, minimum=0)
# How long one send may take (a large file on a slow uplink), beyond the tasks' usual limits.
DOCUMENT_SEND_TIME_LIMIT = env_int("DOCUMENT_SEND_TIME_LIMIT_SECONDS", 30 * 60, minimum=60)
# Days the portal keeps its copy of a file after Clearfacts confirmed it (0: keep it for good).
DOCUMENT_RETENTION_DAYS = env_int("DOCUMENT_RETENTION_DAYS", 30, minimum=0)
# Seconds to wait for Clearfacts and Clearvo: (connect, read).
EXTERNAL_TIMEOUT = (env_float("EXTERNAL_CONNECT_TIMEOUT", 5.0), env_float("EXTERNAL_READ_TIMEOUT", 30.0))
# Clearfacts may take a while to answer once it has a large file: seconds to wait for that answer.
CLEARFACTS_UPLOAD_ANSWER_TIMEOUT = env_float("CLEARFACTS_UPLOAD_ANSWER_TIMEOUT", 120.0)
# Submitting invoices to Clearvo (invoicing/submissions.py). Clearvo remembers an idempotency key
# this long: past it, a send whose outcome is unknown is never repeated by itself (a person decides).
CLEARVO_KEY_LIFETIME = timedelta(hours=env_float("CLEARVO_KEY_LIFETIME_HOURS", 24.0, minimum=0.01))
# Failed sends are tried again after this many seconds, doubled each attempt up to the maximum
# (or later when Clearvo says Retry-After); after SUBMISSION_MAX_ATTEMPTS they wait for a person.
SUBMISSION_RETRY_BACKOFF = env_float("SUBMISSION_RETRY_BACKOFF_SECONDS", 5.0)
SUBMISSION_RETRY_BACKOFF_MAX = env_float("SUBMISSION_RETRY_BACKOFF_MAX_SECONDS", 15 * 60.0)
SUBMISSION_MAX_ATTEMPTS = env_int("SUBMISSION_MAX_ATTEMPTS", 10, minimum=1)
# A queued or retrying send not taken up this long after it was due is dispatched again by the sweeper.
SUBMISSION_SWEEP_AFTER_SECONDS = env_int("SUBMISSION_SWEEP_AFTER_SECONDS", 120)
# An accepted invoice's filing in the books still being prepared this long after it was written is dispatched again.
BOOK_FILING_SWEEP_AFTER_SECONDS = env_int("BOOK_FILING_SWEEP_AFTER_SECONDS", 120)


def _field_encryption_keys() -> list[str]:
    raw = env_list("FIELD_ENCRYPTION_KEY", [])
    if not raw:
        if not DEBUG:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DEBUG=0")
        # Embedded mode: a key derived from SECRET_KEY, so nothing has to be configured.
        raw = [base64.urlsafe_b64encode(hashlib.sha256(f"fields:{SECRET_KEY}".encode()).digest()).decode()]
    for key in raw:
        try:
            if len(base64.urlsafe_b64decode(key)) != 32:
                raise ValueError
        except ValueError:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
            ) from None
    return raw


# The first key encrypts; all of them decrypt (rotation).
FIELD_ENCRYPTION_KEYS = _field_encryption_keys()

INSTALLED_APPS = [
    "portal.admin_config.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "mozilla_django_oidc",
    "django_countries",
    "django_htmx",
    "template_partials",
    "csp",
    "portal",
    "accounts",
    "clearfacts_app",
    "invoicing",
]
if SANDBOX:
    INSTALLED_APPS += ["sandbox", "sandbox.clearfacts", "sandbox.clearvo"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.SiteErrorPagesMiddleware",
    "portal.middleware.OneLocalOriginMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.cache_headers.PrivateCacheControlMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.tenancy.PortalLoginRequiredMiddleware",
    "accounts.middleware.ClearfactsCredentialMiddleware",
    "portal.tenancy.AdministrationMiddleware",
]

if not DEBUG:
    # Production serves static files itself; in development runserver does.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.navigation",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker share one file: wait for locks instead of failing, and let readers
    # proceed while a writer holds the lock.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a worker process started by a test sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_cache_url = env_str("CACHE_URL")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
elif _cache_url:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, not {_cache_url!r}")
else:
    # Shared by the web server and the worker processes, unlike the local-memory cache.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": VAR_DIR / "cache"}
    }

# Drawn fragments of pages kept under everything they show: list and queue rows, filter forms, the
# queue's counts, clearance events (docs/performance.md, "Kept fragments"). Nothing in them can go
# stale and equal values draw equal HTML everywhere, so each process keeps its own, in memory.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "TIMEOUT": None,
    "OPTIONS": {"MAX_ENTRIES": 20_000},
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.oidc.ClearfactsOIDCBackend",
    "accounts.staff.StaffAuthenticationBackend",
]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "accounts:sign-in"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CSRF_FAILURE_VIEW = "portal.error_views.csrf_failure"

# Clearfacts sign-in (mozilla-django-oidc; endpoints come from the issuer's discovery document).
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_JWKS_REFETCH_INTERVAL = 10  # seconds between refetches of the JWKS for an unknown kid
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_TIMEOUT = EXTERNAL_TIMEOUT
OIDC_REVOCATION_TIMEOUT = env_float("OIDC_REVOCATION_TIMEOUT", 2.0)  # sign-out waits no longer for Clearfacts
OIDC_RP_SCOPES = " ".join(
    env_list(
        "OIDC_RP_SCOPES",
        [
            "openid",
            "email",
            "profile",
            "offline_access",
            "accountant",
            "read_administrations",
            "upload_document",
            "archive_read",
            "archive_actions",
            "journal_read",
            "contact_read",
            "statistics",
            "associate_read",
            "associate_actions",
        ],
    )
)
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc-callback"
OIDC_CREATE_USER = True
OIDC_EXEMPT_URLS = ["healthz"]
# A path: mozilla-django-oidc redirects to this value as it is, without resolving URL names.
LOGIN_REDIRECT_URL_FAILURE = "/accounts/sign-in/"

# Staff accounts (django-allauth): e-mail and password, TOTP required, no sign-up.
ACCOUNT_ADAPTER = "accounts.staff.StaffAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = {
    "login": "20/m/ip",
    "login_failed": "5/5m/ip,5/5m/key",
    "reset_password": "5/m/ip,3/m/key",
    "reset_password_from_key": "20/m/ip",
}
ACCOUNT_LOGIN_REDIRECT_URL = "admin:index"
MFA_ADAPTER = "accounts.staff.StaffMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Clearfacts portal"
# A code typed in the last seconds of its 30 s still works when it arrives (RFC 6238 §5.2: one step).
MFA_TOTP_TOLERANCE = 1

# Internationalisation
LANGUAGE_CODE = "en"
LANGUAGES = [("nl", _("Dutch")), ("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Brussels"
USE_I18N = True
USE_TZ = True
# English dates as written in Belgium (28/11/2026 14:05), not US style: portal/formats/en/formats.py.
FORMAT_MODULE_PATH = ["portal.formats"]

# Static and uploaded files
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail: printed to the console in embedded mode.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Clearfacts portal <noreply@{_site.hostname}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = not DEBUG
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = 0 if DEBUG else 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# Celery: a filesystem broker under var/ by default (no server), Redis in production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "messages"),
        "data_folder_out": str(_broker_dir / "messages"),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": 0.2,  # seconds between looks at the folder (kombu's default is 1)
    }
    CELERY_BROKER_FOLDERS = [_broker_dir / "messages", _broker_dir / "control"]
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
    CELERY_BROKER_FOLDERS = []
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 5 * 60
CELERY_TASK_TIME_LIMIT = 6 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "portal.tasks.heartbeat", "schedule": 60.0},
    "sync-clearfacts-access": {"task": "clearfacts_app.tasks.sync_all_user_access", "schedule": 60 * 60.0},
    "sweep-documents": {"task": "clearfacts_app.tasks.sweep_documents", "schedule": 60.0},
    "remove-sent-files": {"task": "clearfacts_app.tasks.remove_sent_files", "schedule": 60 * 60.0},
    "sweep-submissions": {"task": "invoicing.tasks.sweep_submissions", "schedule": 60.0},
    "sweep-book-filings": {"task": "invoicing.book_tasks.sweep_book_filings", "schedule": 60.0},
    # The shortest limit is minutes (docs/watchdog.md): a minute late is close enough. A tick still
    # queued at the next one is dropped; two that run at once raise each alert once all the same.
    "watch-stale-statuses": {
        "task": "invoicing.watchdog_tasks.watch_stale_statuses",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Every few seconds, so a status is seen soon after nextPollAfter (make run plays cadences of
    # seconds); a run with nothing due is one query. A tick still queued at the next one is dropped.
    "poll-submissions": {
        "task": "invoicing.tasks.poll_due_submissions",
        "schedule": 2.0,
        "options": {"expires": 2.0},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO"), "propagate": False}
        for name in ("portal", "accounts", "clearfacts_app", "invoicing", "sandbox", "celery")
    }
    # These log request and response bodies (which can hold tokens or passwords) at DEBUG.
    | {name: {"level": "WARNING"} for name in ("gql", "authlib", "urllib3", "mozilla_django_oidc")}
    # Django's own console handler (DEBUG) would print each of its records a second time beside ours.
    | {"django": {"handlers": [], "level": "INFO"}},
}
