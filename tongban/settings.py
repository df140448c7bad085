"""The one settings module. Everything that differs between machines comes from the environment.

Defaults let a fresh clone run the demo city on SQLite at http://127.0.0.1:8000 with nothing
else installed; a city deployment sets DATABASE_URL, secrets and TONGBAN_HTTPS.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from tongban.common.env import (
    ConfigurationError,
    env_bool,
    env_int,
    env_list,
    env_str,
    persistent_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("TONGBAN_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("TONGBAN_DEBUG", False)
SECRET_KEY = persistent_secret("TONGBAN_SECRET_KEY", DATA_DIR, nbytes=48)
# Field encryption (AES-256-GCM) and the keyed hash used to find encrypted values are separate
# keys, so a leaked lookup key does not decrypt anything.
FIELD_ENCRYPTION_KEY = persistent_secret("TONGBAN_FIELD_ENCRYPTION_KEY", DATA_DIR)
LOOKUP_HASH_KEY = persistent_secret("TONGBAN_LOOKUP_HASH_KEY", DATA_DIR)

ALLOWED_HOSTS = env_list("TONGBAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("TONGBAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Listed so /api/v1/docs renders Swagger UI from ninja's own static files, not a CDN.
    "ninja",
    "tongban.common",
    "tongban.accounts",
    "tongban.appointments",
    "tongban.catalog",
    "tongban.cases",
    "tongban.certificates",
    "tongban.idcode",
    "tongban.policies",
    "tongban.portal",
    "tongban.demo",
    "tongban.notifications",
    "tongban.reviews",
    "tongban.identity",
    "tongban.passkeys",
    "tongban.delegation",
    "tongban.connect",
    "oauth2_provider",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tongban.common.middleware.RefuseNulInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tongban.common.middleware.SecurityHeadersMiddleware",
    "tongban.common.middleware.PrivateResponsesMiddleware",
]

ROOT_URLCONF = "tongban.urls"
WSGI_APPLICATION = "tongban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tongban" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tongban.portal.context.portal_context",
            ],
        },
    }
]

_default_sqlite = f"sqlite:///{DATA_DIR / 'tongban.sqlite3'}"
# An empty DATABASE_URL means "not set", as in most shells and CI systems.
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL") or _default_sqlite)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers proceed while one writer commits; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue on busy_timeout instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = (
        {"NAME": str(DATA_DIR / "test.sqlite3")}
        if env_bool("TONGBAN_TEST_SQLITE_FILE", False)
        else {}
    )
# Keep a connection per worker thread: opening one (and, on SQLite, running the pragmas above)
# costs more than a catalog read itself.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("TONGBAN_DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Tests and the demo loader create many users; a cheap hasher there keeps them fast. Real
# deployments keep Django's default (PBKDF2).
if env_bool("TONGBAN_FAST_PASSWORD_HASHER", False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"

# Security by default. HTTPS-only cookies and HSTS need TLS in front; locally the demo runs on
# plain http://127.0.0.1, so TONGBAN_HTTPS switches them on for real deployments.
HTTPS = env_bool("TONGBAN_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("TONGBAN_SESSION_SECONDS", 8 * 3600)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Login throttling (tongban.accounts.services, "login throttling"): failed tries slow the next
# try more and more, never lock. This is how long a failure is remembered (and when the
# maintenance tick deletes it). It must stay several times the longest wait (15 minutes):
# the waits grow with the number of failures remembered, so a short memory would let an
# attacker who keeps to the longest wait fall back to the free tries.
LOGIN_FAILURE_WINDOW_SECONDS = env_int("TONGBAN_LOGIN_FAILURE_WINDOW_SECONDS", 24 * 3600)
# 随申码 lifetime; tongban.idcode reads it at call time, so tests can shorten it.
TONGBAN_IDCODE_TTL_SECONDS = env_int("TONGBAN_IDCODE_TTL_SECONDS", 300)
# 好差评: days after conclusion / a counter service in which a rating is accepted, working
# days a department has to rectify a 差评, and days a rater has to judge the reply.
TONGBAN_REVIEW_WINDOW_DAYS = env_int("TONGBAN_REVIEW_WINDOW_DAYS", 30)
TONGBAN_RECTIFICATION_DAYS = env_int("TONGBAN_RECTIFICATION_DAYS", 15)
TONGBAN_REVIEW_VERDICT_DAYS = env_int("TONGBAN_REVIEW_VERDICT_DAYS", 7)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
_redis = env_str("REDIS_URL")
if _redis:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis}
    }

# How often a process asks the database whether the catalog changed (seconds).
TONGBAN_CATALOG_REFRESH_SECONDS = float(env_str("TONGBAN_CATALOG_REFRESH_SECONDS", "1"))
# How often a process asks the database whether a status list it holds changed (seconds): a
# revocation made by another process is seen by verification in this process that much later.
TONGBAN_STATUS_REFRESH_SECONDS = float(env_str("TONGBAN_STATUS_REFRESH_SECONDS", "1"))

TONGBAN_CATALOG_DIR = Path(
    env_str("TONGBAN_CATALOG_DIR", str(BASE_DIR / "tongban" / "demo" / "definitions"))
)

# Background work (django-tasks). The database backend by default, so `make run` queues real
# tasks for the `db_worker` process that scripts/serve.sh starts beside the app server; with
# PostgreSQL, workers on many machines share that one queue. Tests keep the same backend and
# run the worker in-process. TONGBAN_TASKS_BACKEND may name another backend class, e.g.
# django_tasks.backends.immediate.ImmediateBackend to run tasks inline without a worker.
TASKS = {
    "default": {
        "BACKEND": env_str("TONGBAN_TASKS_BACKEND") or "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# The maintenance tick (SLA reminders and escalation, 补正/容缺 deadlines, old login tries)
# re-queues itself this often; see tongban/cases/schedule.py.
TONGBAN_SWEEP_INTERVAL_SECONDS = env_int("TONGBAN_SWEEP_INTERVAL_SECONDS", 900)
if TONGBAN_SWEEP_INTERVAL_SECONDS < 1:
    raise ConfigurationError("TONGBAN_SWEEP_INTERVAL_SECONDS must be at least 1")

# Notices also go out by email when the recipient has an address. The console backend prints
# them in the worker's output, so the demo city sends nothing anywhere by default.
EMAIL_BACKEND = env_str("TONGBAN_EMAIL_BACKEND") or "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("TONGBAN_DEFAULT_FROM_EMAIL") or "noreply@tongban.invalid"
# SMS goes through an adapter class (`send(phone, text)`); the console one only logs, with the
# number masked. A city names its gateway's adapter here.
TONGBAN_SMS_ADAPTER = (
    env_str("TONGBAN_SMS_ADAPTER") or "tongban.notifications.sms.ConsoleSmsAdapter"
)
# Holders are told this many days before a certificate expires (once per certificate).
TONGBAN_CERTIFICATE_EXPIRY_NOTICE_DAYS = env_int("TONGBAN_CERTIFICATE_EXPIRY_NOTICE_DAYS", 30)
# The published trust list expires this many days after it is signed; the platform signs a new
# edition once half of that has passed (docs/formats.md §4.1).
TONGBAN_TRUST_LIST_DAYS = env_int("TONGBAN_TRUST_LIST_DAYS", 7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("TONGBAN_LOG_LEVEL", "WARNING")},
}
