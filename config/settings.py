"""Django settings, read entirely from the environment (see .env.example)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(Env().str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = Env()

DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.optional("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "monitoring",
    "reports",
]

MIDDLEWARE = [
    # First: answers hosted mta-sts.<domain> names (not in ALLOWED_HOSTS), never redirecting.
    "monitoring.hosting_middleware.HostedPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "monitoring.middleware.CurrentOrganizationMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "monitoring.context_processors.organizations",
            ],
        },
    },
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env.str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
            conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            # WAL lets web, worker and beat read while one of them writes; NORMAL sync is
            # still crash-safe in WAL mode and makes each commit far cheaper.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock at BEGIN, so two writers queue instead of deadlocking.
            "transaction_mode": "IMMEDIATE",
        }
    )
    # A file, not shared-cache memory, so tests with threads see real SQLite locking.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # One test database per test process, so parallel runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Serve straight from the app folders until collectstatic has run (development, tests).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Mail: the console backend by default, so password resets work with no mail server.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.optional("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env.optional("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "stsguard <noreply@localhost>")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")

INVITATION_DAYS = env.int("INVITATION_DAYS", 7, minimum=1)

# Hosted policies: customers CNAME mta-sts.<their domain> to this name (Caddy serves it).
HOSTED_POLICY_TARGET = env.str("HOSTED_POLICY_TARGET", "policies.stsguard.example")

# Celery. With no broker configured, a filesystem transport under var/ needs no server.
_broker = env.str("CELERY_BROKER_URL", "filesystem://")
if not _broker.startswith(("filesystem://", "memory://", "redis://", "rediss://", "amqp://")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be filesystem://, memory://, redis:// or amqp://, got {_broker!r}"
    )
CELERY_BROKER_URL = _broker
if _broker.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", 1000, minimum=1)

# The check engine's network settings (MTASTS_*), parsed once so a bad value stops start-up.
from monitoring.checks.options import CheckOptions, ConfigError  # noqa: E402

try:
    CHECK_OPTIONS = CheckOptions.from_env(env.environ)
except ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One INFO line per policy fetch and webhook is noise.
        "httpx": {"level": "WARNING"},
    },
}

# TLSRPT reports: receivers' limits, the report mail domain, alert thresholds, the cache.
TLSRPT_MAX_COMPRESSED = env.int("TLSRPT_MAX_COMPRESSED", 10 * 1024 * 1024, minimum=1024)
TLSRPT_MAX_DECOMPRESSED = env.int("TLSRPT_MAX_DECOMPRESSED", 50 * 1024 * 1024, minimum=1024)
TLSRPT_MAX_MESSAGE = env.int("TLSRPT_MAX_MESSAGE", 25 * 1024 * 1024, minimum=1024)
TLSRPT_RATE_LIMIT = env.int("TLSRPT_RATE_LIMIT", 120, minimum=1)  # POSTs per token per window
TLSRPT_RATE_WINDOW = env.int("TLSRPT_RATE_WINDOW", 3600, minimum=1)  # seconds
TLSRPT_DKIM_VERIFY = env.bool("TLSRPT_DKIM_VERIFY", True)  # DNS through MTASTS_NAMESERVERS
TLSRPT_ALERT_FAILURE_RATE = env.int("TLSRPT_ALERT_FAILURE_PERCENT", 5, minimum=0) / 100
TLSRPT_ALERT_MIN_SESSIONS = env.int("TLSRPT_ALERT_MIN_SESSIONS", 20, minimum=1)
TLSRPT_STOPPED_DAYS = env.int("TLSRPT_STOPPED_DAYS", 3, minimum=1)
REPORT_MAIL_DOMAIN = env.str("REPORT_MAIL_DOMAIN", "reports.localhost").lower().rstrip(".")
REPORT_SMTP_HOST = env.str("REPORT_SMTP_HOST", "127.0.0.1")
REPORT_SMTP_PORT = env.int("REPORT_SMTP_PORT", 2525, minimum=1)
IMAP_POLL_SECONDS = env.int("IMAP_POLL_SECONDS", 300, minimum=30)
IMAP_TIMEOUT = env.int("IMAP_TIMEOUT", 30, minimum=1)

# Redis when CACHE_URL says so (shared by every process: the rate limits hold across
# workers); otherwise memory in each process, which is enough on one machine.
_cache_url = env.str("CACHE_URL", "locmem://")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "stsguard",
        }
    }
elif _cache_url.startswith("locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL must be redis://... or locmem://, got {_cache_url!r}")

# Alerts, scheduled checks and run history (issue 4).
# Channel URLs resolving to private/loopback addresses are refused unless this is on (tests).
ALERTS_ALLOW_PRIVATE_TARGETS = env.bool("ALERTS_ALLOW_PRIVATE_TARGETS", False)
ALERTS_HTTP_TIMEOUT = env.int("ALERTS_HTTP_TIMEOUT", 10, minimum=1)
ALERTS_MAX_ATTEMPTS = env.int("ALERTS_MAX_ATTEMPTS", 5, minimum=1)
ALERTS_RETRY_BASE_SECONDS = env.int("ALERTS_RETRY_BASE_SECONDS", 30, minimum=0)
# Kept well under the broker visibility timeout, so a waiting retry is not handed out twice.
ALERTS_RETRY_MAX_SECONDS = env.int("ALERTS_RETRY_MAX_SECONDS", 1800, minimum=0)
# A failing finding alerts only once seen on this many consecutive runs...
ALERTS_CONFIRM_RUNS = env.int("ALERTS_CONFIRM_RUNS", 2, minimum=1)
# ...and a run with an unconfirmed failure (or a failed check) is re-run this soon.
ALERTS_RECHECK_SECONDS = env.int("ALERTS_RECHECK_SECONDS", 300, minimum=0)
ALERTS_REMINDER_HOURS = env.int("ALERTS_REMINDER_HOURS", 24, minimum=0)  # 0: no reminders
ALERTS_CERT_REMINDER_DAYS = sorted(
    {int(d) for d in env.list("ALERTS_CERT_REMINDER_DAYS", ["30", "14", "7", "3", "1"])},
    reverse=True,
)
ALERTS_DIGEST_HOUR = env.int("ALERTS_DIGEST_HOUR", 8, minimum=0)  # UTC hour of the daily digest
if ALERTS_DIGEST_HOUR > 23:
    raise ImproperlyConfigured("ALERTS_DIGEST_HOUR must be 0-23")
CHECK_NOW_COOLDOWN_SECONDS = env.int("CHECK_NOW_COOLDOWN_SECONDS", 60, minimum=0)
CHECK_TASK_SOFT_TIME_LIMIT = env.int("CHECK_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
CHECK_TASK_TIME_LIMIT = env.int("CHECK_TASK_TIME_LIMIT", CHECK_TASK_SOFT_TIME_LIMIT + 30, minimum=2)
if CHECK_TASK_TIME_LIMIT <= CHECK_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CHECK_TASK_TIME_LIMIT must be above CHECK_TASK_SOFT_TIME_LIMIT")
CHECK_DB_RETRY_SECONDS = env.int("CHECK_DB_RETRY_SECONDS", 10, minimum=0)
CHECK_DB_MAX_RETRIES = env.int("CHECK_DB_MAX_RETRIES", 12, minimum=0)
# Every run is kept this many days, then one run per domain per day...
RETENTION_FULL_DAYS = env.int("RETENTION_FULL_DAYS", 30, minimum=1)
# ...for this many days in all (0: keep the daily runs for ever).
RETENTION_DAILY_DAYS = env.int("RETENTION_DAILY_DAYS", 0, minimum=0)
ALERTS_MAX_REMINDERS = env.int("ALERTS_MAX_REMINDERS", 1, minimum=0)
# How long Redis holds a taken-but-unacknowledged task before handing it to another worker
# (a worker that died mid-check); tests shorten it to see redelivery within seconds.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    _visibility = env.int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = _visibility
    if _visibility < 300:
        # kombu scans for expired unacked tasks every interval x throttle seconds (100 by default).
        CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] = max(1, _visibility // 3)
        CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = 1
