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
    "tongban.exchange",
    "tongban.assistance",
    "tongban.commitment_checks",
    "tongban.consents",
    "tongban.assistant",  # 智能客服
    "tongban.helpdesk",
    "tongban.metrics",  # 服务指标
    "tongban.opendata",  # 开放数据
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
    # 自助终端: the idle limit of sessions on a kiosk browser (nothing without its cookie).
    "tongban.appointments.middleware_kiosk.KioskSessionMiddleware",
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
# costs more than a catalog read itself. A kept connection outlives a database restart only as
# a dead socket: the health check (one SELECT 1 before the first query of each request or
# worker loop) drops it and opens a new one, and a connection that raised is closed when its
# request ends, so the app recovers by itself once the database is back.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("TONGBAN_DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer (a fail-over in progress, a dropped route) must cost a
    # request seconds and a 503, not hold a gunicorn worker until gunicorn kills it. A
    # `?connect_timeout=` in DATABASE_URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("TONGBAN_DB_CONNECT_TIMEOUT", 5)
    )

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
# 自助终端: a kiosk session ends after this long without the person doing anything.
TONGBAN_KIOSK_IDLE_SECONDS = env_int("TONGBAN_KIOSK_IDLE_SECONDS", 120)
# 好差评: days after conclusion / a counter service in which a rating is accepted, working
# days a department has to rectify a 差评, and days a rater has to judge the reply.
TONGBAN_REVIEW_WINDOW_DAYS = env_int("TONGBAN_REVIEW_WINDOW_DAYS", 30)
TONGBAN_RECTIFICATION_DAYS = env_int("TONGBAN_RECTIFICATION_DAYS", 15)
TONGBAN_REVIEW_VERDICT_DAYS = env_int("TONGBAN_REVIEW_VERDICT_DAYS", 7)
# 投诉建议: working days a department has to answer a complaint or suggestion received online
# (a forwarded one keeps the deadline it came with).
TONGBAN_COMPLAINT_DAYS = env_int("TONGBAN_COMPLAINT_DAYS", 15)
# 在线客服 service hours (see tongban/helpdesk/hours.py for the format); outside them 留言.
TONGBAN_HELPDESK_HOURS = (
    env_str("TONGBAN_HELPDESK_HOURS") or "workday=09:00-17:00;weekend=09:00-12:00"
)
# 统一预约: LIMIT no-shows (未到场) within WINDOW_DAYS bar online booking until BAN_DAYS after
# the last; a booking not checked in GRACE_MINUTES after its slot ended counts as a no-show.
TONGBAN_BOOKING_NO_SHOW_LIMIT = env_int("TONGBAN_BOOKING_NO_SHOW_LIMIT", 3)
TONGBAN_BOOKING_NO_SHOW_WINDOW_DAYS = env_int("TONGBAN_BOOKING_NO_SHOW_WINDOW_DAYS", 90)
TONGBAN_BOOKING_NO_SHOW_BAN_DAYS = env_int("TONGBAN_BOOKING_NO_SHOW_BAN_DAYS", 30)
TONGBAN_BOOKING_NO_SHOW_GRACE_MINUTES = env_int("TONGBAN_BOOKING_NO_SHOW_GRACE_MINUTES", 30)
if (
    min(TONGBAN_BOOKING_NO_SHOW_LIMIT, TONGBAN_BOOKING_NO_SHOW_GRACE_MINUTES) < 0
    or min(TONGBAN_BOOKING_NO_SHOW_WINDOW_DAYS, TONGBAN_BOOKING_NO_SHOW_BAN_DAYS) < 1
):
    raise ConfigurationError("TONGBAN_BOOKING_NO_SHOW_* must not be negative (days at least 1)")

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
# tasks for the `tasks_worker` process that scripts/serve.sh starts beside the app server; with
# PostgreSQL, workers on many machines share that one queue. Tests keep the same backend and
# run the worker in-process. TONGBAN_TASKS_BACKEND may name another backend class, e.g.
# django_tasks.backends.immediate.ImmediateBackend to run tasks inline without a worker.
TASKS = {
    "default": {
        "BACKEND": env_str("TONGBAN_TASKS_BACKEND") or "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# A task left RUNNING this long is presumed dead with its worker (killed, or its machine lost;
# a worker that loses the database mid-task cannot record the result either): `manage.py
# tasks_worker` puts it back to READY and it runs again. Tasks are idempotent, so a second run
# is harmless, but the lease must stay well above the longest task (they take seconds): a task
# still running past it would be started a second time beside the first by another worker.
TONGBAN_TASK_LEASE_SECONDS = env_int("TONGBAN_TASK_LEASE_SECONDS", 600)
if TONGBAN_TASK_LEASE_SECONDS < 1:
    raise ConfigurationError("TONGBAN_TASK_LEASE_SECONDS must be at least 1")

# The maintenance tick (SLA reminders and escalation, 补正/容缺 deadlines, old login tries)
# re-queues itself this often; see tongban/cases/schedule.py.
TONGBAN_SWEEP_INTERVAL_SECONDS = env_int("TONGBAN_SWEEP_INTERVAL_SECONDS", 900)
# 服务指标: how stale today's figures may grow before the tick computes today again; earlier
# days are computed again only when a fact of theirs changes.
TONGBAN_METRICS_REFRESH_SECONDS = env_int("TONGBAN_METRICS_REFRESH_SECONDS", 900)
# Stored files are noted in staging/ before they are written (tongban.common.files); a note
# older than this is settled by the tick: the file kept if a committed row names it, deleted
# if not. Far longer than any request may run (gunicorn's timeout).
TONGBAN_FILE_STAGING_GRACE_SECONDS = env_int("TONGBAN_FILE_STAGING_GRACE_SECONDS", 900)
if TONGBAN_SWEEP_INTERVAL_SECONDS < 1:
    raise ConfigurationError("TONGBAN_SWEEP_INTERVAL_SECONDS must be at least 1")

# Notices also go out by email when the recipient has an address. The console backend prints
# them in the worker's output, so the demo city sends nothing anywhere by default.
EMAIL_BACKEND = env_str("TONGBAN_EMAIL_BACKEND") or "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("TONGBAN_DEFAULT_FROM_EMAIL") or "noreply@tongban.invalid"
# SMS goes through an adapter class (`send(phone, text)`); the console one only logs, with the
# number masked. A city names its gateway's adapter here. Unset, the demo outbox (identity,
# below) logs the same way and keeps the text for the 示例短信 page.
TONGBAN_SMS_ADAPTER = env_str("TONGBAN_SMS_ADAPTER") or "tongban.identity.sms.DemoOutboxSmsAdapter"
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

# --- Passkeys (通行密钥, WebAuthn; tongban/passkeys) ---
# A passkey is bound for life to its relying party id, the site's registrable domain (e.g.
# "zwdt.example.gov.cn"); a production deployment sets it, and the page origins that may
# answer a ceremony (default https://<rp id>). Unset, the id and origin come from the request's
# host, which suits http://localhost:8000 and the tests; an IP address cannot hold passkeys.
TONGBAN_WEBAUTHN_RP_ID = (env_str("TONGBAN_WEBAUTHN_RP_ID") or "").strip().lower()
TONGBAN_WEBAUTHN_ORIGINS = env_list("TONGBAN_WEBAUTHN_ORIGINS", [])
if TONGBAN_WEBAUTHN_ORIGINS and not TONGBAN_WEBAUTHN_RP_ID:
    raise ConfigurationError("TONGBAN_WEBAUTHN_ORIGINS needs TONGBAN_WEBAUTHN_RP_ID")
# The name a browser shows when it asks the person to confirm.
TONGBAN_WEBAUTHN_RP_NAME = env_str("TONGBAN_WEBAUTHN_RP_NAME") or "一网通办"
# How long a registration or login challenge stays usable (it is single-use in any case).
TONGBAN_WEBAUTHN_CHALLENGE_SECONDS = env_int("TONGBAN_WEBAUTHN_CHALLENGE_SECONDS", 300)

# --- 接入管理 (tongban/connect): OpenID Connect provider and API tokens, django-oauth-toolkit ---
# The ID-token signing key lives with the other secrets under the data folder (generated on
# first use) unless TONGBAN_OIDC_RSA_PRIVATE_KEY holds its PEM. Lifetimes are short on
# purpose: a code is exchanged within seconds by a working client, and an API token that
# leaks stops working within the hour; the app keeps going with its refresh token.
from django.conf import global_settings  # noqa: E402

from tongban.connect.keys import persistent_rsa_key  # noqa: E402
from tongban.connect.scopes import SCOPES as _CONNECT_SCOPES  # noqa: E402
from tongban.connect.scopes import pkce_required as _connect_pkce_required  # noqa: E402

# DOT's own models, named so migrations can depend on them (it declares them swappable).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": persistent_rsa_key("TONGBAN_OIDC_RSA_PRIVATE_KEY", DATA_DIR),
    # Set when the platform sits behind a proxy that rewrites the host; else from the request.
    "OIDC_ISS_ENDPOINT": env_str("TONGBAN_OIDC_ISSUER") or "",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": True,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "SCOPES": _CONNECT_SCOPES,
    "DEFAULT_SCOPES": ["openid"],
    "SCOPES_BACKEND_CLASS": "tongban.connect.scopes.ClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "tongban.connect.oidc.TongbanValidator",
    "PKCE_REQUIRED": _connect_pkce_required,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": env_int("TONGBAN_OAUTH_CODE_SECONDS", 60),
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("TONGBAN_OAUTH_ACCESS_TOKEN_SECONDS", 3600),
    "ID_TOKEN_EXPIRE_SECONDS": env_int("TONGBAN_OAUTH_ACCESS_TOKEN_SECONDS", 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("TONGBAN_OAUTH_REFRESH_TOKEN_SECONDS", 30 * 86400),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Consent is remembered by tongban.connect (授权记录), not by DOT's live-token check.
    "REQUEST_APPROVAL_PROMPT": "force",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if HTTPS else ["http", "https"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
}
# Client secrets are random, so they are stored with a salted SHA-256 (tongban/connect/
# hashers.py), listed after the password hashers so no person's password ever uses it.
OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"] = "client_secret_sha256"  # noqa: S105
PASSWORD_HASHERS = [
    *globals().get("PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS),
    "tongban.connect.hashers.ClientSecretHasher",
]
# Each API call made with a token is counted for its client (calls, errors, last use).
MIDDLEWARE = [*MIDDLEWARE, "tongban.connect.middleware.ClientActivityMiddleware"]
# 活跃用户: once a day per person and channel (tongban.metrics).
MIDDLEWARE = [*MIDDLEWARE, "tongban.metrics.middleware.ActivityMiddleware"]

# --- identity: registration with 实名认证, SMS codes, password reset (tongban.identity) -------
# The real-name verifier (name + 身份证号码 → yes/no): the demo asks the city's own population
# register; a city names the adapter of its identity authority.
TONGBAN_REAL_NAME_VERIFIER = (
    env_str("TONGBAN_REAL_NAME_VERIFIER") or "tongban.identity.verifiers.PopulationRegisterVerifier"
)
# 示例短信: the demo SMS outbox and its page, so a visitor can read the code they were sent.
# On by default for the demo city; off whenever TONGBAN_SMS_ADAPTER names a real gateway
# (tongban.identity.sms.demo_outbox_enabled checks both), and this can switch it off too.
TONGBAN_DEMO_SMS_OUTBOX = env_bool("TONGBAN_DEMO_SMS_OUTBOX", True)

# 数据共享交换: where the department systems answer. Each data source's definition names an
# endpoint; the demo city's department systems (`manage.py demo_sources`, started by
# `make run`) all answer at one base URL. Off: no source is asked (guides fall back to the
# profile and e-certificates, and say so); tests turn it on where they start the sources.
TONGBAN_EXCHANGE_ENABLED = env_bool("TONGBAN_EXCHANGE_ENABLED", True)
TONGBAN_EXCHANGE_ENDPOINTS = {
    "demo": (env_str("TONGBAN_DEMO_SOURCES_URL") or "http://127.0.0.1:8100").rstrip("/"),
}
# The demo department systems' own records (their databases, not the platform's).
TONGBAN_DEMO_SOURCES_DB = DATA_DIR / "demo_sources.sqlite3"

# --- 开放数据 (tongban/opendata) ---------------------------------------------------------------
# Published counts below this are left empty (小数抑制), and so is every rate resting on one:
# no group small enough to point at a person shows in the open data or the public figures.
TONGBAN_OPENDATA_MIN_CELL = env_int("TONGBAN_OPENDATA_MIN_CELL", 10)
# Calls of the data API one developer key may make per minute, counted in the database.
TONGBAN_OPENDATA_RATE_LIMIT = env_int("TONGBAN_OPENDATA_RATE_LIMIT", 60)
# How long a process keeps a dataset's rows before reading its sources again.
TONGBAN_OPENDATA_CACHE_SECONDS = env_int("TONGBAN_OPENDATA_CACHE_SECONDS", 60)
if min(TONGBAN_OPENDATA_MIN_CELL, TONGBAN_OPENDATA_RATE_LIMIT) < 1:
    raise ConfigurationError("TONGBAN_OPENDATA_MIN_CELL and _RATE_LIMIT must be at least 1")
if TONGBAN_OPENDATA_CACHE_SECONDS < 0:
    raise ConfigurationError("TONGBAN_OPENDATA_CACHE_SECONDS must not be negative")
# dct:publisher of the catalogue and every dataset: the body that runs the city's platform.
TONGBAN_OPENDATA_PUBLISHER = env_str("TONGBAN_OPENDATA_PUBLISHER") or "示例城市政务服务中心（示例）"
# Its URI (a web address naming the body), when it has one; unset, the publisher is named only.
TONGBAN_OPENDATA_PUBLISHER_URI = env_str("TONGBAN_OPENDATA_PUBLISHER_URI") or ""
