"""Texting Hub settings: everything a deployment changes comes from the environment.

Safe by default: DEBUG is off unless DEBUG=1, and with DEBUG off the portal refuses to start without
SECRET_KEY. With no DATABASE_URL it uses a SQLite file; with no CELERY_BROKER_URL tasks run in-process.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from portal.env import env_bool, env_float, env_int, env_list, env_money

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random string "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "portal",
    "carrier",
    "provisioning",
    "compliance",
    "texting",
]

MIDDLEWARE = [
    # First: the request id every log line and Celery task carries, and each request's latency (portal/observability).
    "portal.observability.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.errors.DatabaseUnavailableMiddleware",
    # After a POST, this browser's reporting reads stay on the primary for a while (portal/replica.py).
    "portal.replica.ReadYourWritesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the language cookie, else the browser's Accept-Language, else English; for a signed-in user their
    # own choice wins (portal.middleware.UserLanguageMiddleware, below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.OrganisationMiddleware",
    # The signed-in user's chosen language over the cookie and Accept-Language LocaleMiddleware read (User.language).
    "portal.middleware.UserLanguageMiddleware",
    "axes.middleware.AxesMiddleware",
]

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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.shell",
            ],
            # {% partialdef %} everywhere without {% load %}: pages and their HTMX fragments share one template.
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# With no DATABASE_URL (or an empty one): a SQLite file under var/ (the embedded default for `make run` and
# `make test`).
SQLITE_PATH = BASE_DIR / "var" / "db.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Simultaneous writes wait for one another instead of failing with "database is locked" (the 503 page): every
    # transaction takes the write lock when it begins (IMMEDIATE), so none has to upgrade a read lock halfway, which
    # SQLite refuses at once without waiting; the busy timeout is how long a writer waits; WAL lets reads go on
    # while one write is under way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
    )
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # An unreachable database answers the clear 503 page within seconds instead of holding a web worker.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))

# A PostgreSQL read replica for reporting reads (portal/replica.py: which reads, and when they stay on the primary).
# Its sessions are read-only; tests run it as a second connection to the test database (TEST MIRROR).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
# A replica further behind than this is not used (reads go to the primary), and after a change the user's reads stay
# on the primary this long (read-your-writes).
DATABASE_REPLICA_MAX_LAG = env_float("DATABASE_REPLICA_MAX_LAG_SECONDS", 10.0)
if DATABASE_REPLICA_URL:
    if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL too; unset it.")
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    if not DATABASES["replica"]["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a postgres:// URL (a streaming replica).")
    DATABASES["replica"].setdefault("OPTIONS", {}).update(
        connect_timeout=env_int("DB_CONNECT_TIMEOUT", 5), options="-c default_transaction_read_only=on"
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Writes always to the primary, whatever an object was read from.
DATABASE_ROUTERS = ["portal.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # the overview, or the page of whatever the user is (support, compliance officer)
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes; portal/throttling.py): 5 wrong passwords for one email from one address lock that
# pair for 15 minutes (each further attempt restarts the wait); a right password resets the count. Axes' backend must
# come first: it refuses a locked pair before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.throttling.locked_out"
AXES_CLIENT_IP_CALLABLE = "portal.throttling.client_ip"
AXES_USERNAME_CALLABLE = "portal.throttling.username"
AXES_VERBOSE = False
# One address trying many accounts (a password sprayed over them) is locked too, after this many failed sign-ins
# within the cool-off, whatever emails they named (portal.throttling.SignInThrottle).
AXES_HANDLER = "portal.throttling.SignInThrottle"
SIGN_IN_CLIENT_FAILURE_LIMIT = env_int("SIGN_IN_CLIENT_FAILURE_LIMIT", 20)
# Password reset e-mails: at most this many requests per address and per client in each window (portal.throttling).
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 3)
PASSWORD_RESET_LIMIT_PER_CLIENT = env_int("PASSWORD_RESET_LIMIT_PER_CLIENT", 20)
PASSWORD_RESET_WINDOW_MINUTES = env_int("PASSWORD_RESET_WINDOW_MINUTES", 60)

# English is the source language; French (Canada) and Slovak have complete catalogues under locale/ (issue 15).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr-ca", "Français (Canada)"),
    ("sk", "Slovenčina"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as each language writes them (portal/formats/<locale>/formats.py over Django's); the time zone stays UTC.
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))  # filled by collectstatic
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Texting Hub <no-reply@texting-hub.example>")

# Security headers. Production (DEBUG off) gets HTTPS-only cookies and HSTS; tune with the environment.
SESSION_COOKIE_HTTPONLY = True
# The CSRF token reaches htmx through hx-headers on <body>, so no script needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# The language chosen in the user menu, also kept in a cookie so the sign-in page after signing out speaks it.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
X_FRAME_OPTIONS = "DENY"
# Prometheus scrapes over the internal network, without TLS.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]

# Content Security Policy: no inline scripts or styles anywhere (htmx is told not to inject its indicator CSS).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Celery. With no broker URL, tasks run in-process (eagerly) so `make run` needs no Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# No result store unless one is named: nothing in the portal reads task results, and with one every .delay() from a
# web request first subscribes to its result, which holds the request about 20 s and then fails it while Redis is down.
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# A task a worker took but never acknowledged (the whole worker died) goes back to the queue after this many
# seconds. Keep it above RETENTION_LOCK_TTL_SECONDS: a purge redelivered sooner finds its dead run's lock held.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_float("CELERY_VISIBILITY_TIMEOUT", 3600.0)}
# Queues per kind of work (README "Scaling out"), each consumed by its own workers so one kind never waits behind
# another and each scales on its own: "carrier" (submissions to the carrier and polling it: registrations, vetting,
# campaigns and their numbers, authorisation orders, texts), "purge" (the nightly retention purge), "exports"
# (eDiscovery archives and their expiry; the workers need EDISCOVERY_EXPORT_DIR), and "default" for any task not
# routed here. A worker started without -Q (`make worker`, the test suite's worker) consumes every queue.
CELERY_TASK_DEFAULT_QUEUE = "default"
TASKS_BY_QUEUE = {
    "carrier": [
        "compliance.tasks.poll_campaign",
        "compliance.tasks.poll_campaign_assignments",
        "compliance.tasks.poll_campaign_numbers",
        "compliance.tasks.poll_live_campaigns",
        "compliance.tasks.poll_open_registrations",
        "compliance.tasks.poll_registration",
        "compliance.tasks.poll_vetting",
        "compliance.tasks.send_campaign_number_removals",
        "compliance.tasks.send_campaign_numbers",
        "compliance.tasks.submit_brand_registration",
        "compliance.tasks.submit_campaign_registration",
        "compliance.tasks.submit_vetting",
        "provisioning.tasks.poll_authorisation_order",
        "provisioning.tasks.repoll_stuck_orders",
        "provisioning.tasks.submit_authorisation_order",
        "texting.tasks.poll_message_status",
        "texting.tasks.repoll_pending_messages",
        "texting.tasks.send_message",
    ],
    "purge": ["texting.tasks.purge_expired_messages", "texting.tasks.create_text_partitions"],
    "exports": ["compliance.tasks.build_discovery_export", "compliance.tasks.delete_expired_exports"],
}
CELERY_TASK_QUEUES = [Queue(name) for name in (CELERY_TASK_DEFAULT_QUEUE, *TASKS_BY_QUEUE)]
CELERY_TASK_ROUTES = {task: {"queue": queue} for queue, tasks in TASKS_BY_QUEUE.items() for task in tasks}
# Periodic work (celery -A portal beat). Each task is idempotent, so a missed or doubled beat is harmless.
# The purge runs just after midnight UTC: on PostgreSQL it drops whole day partitions (texting.partitions) and deletes
# row by row only what the cutoff leaves of the day straddling it, i.e. the texts of the minutes since midnight.
RETENTION_PURGE_HOUR = env_int("RETENTION_PURGE_HOUR", 0)
RETENTION_PURGE_MINUTE = env_int("RETENTION_PURGE_MINUTE", 10)
CELERY_BEAT_SCHEDULE = {
    "repoll-stuck-authorisation-orders": {
        "task": "provisioning.tasks.repoll_stuck_orders",
        "schedule": env_float("AUTHORISATION_REPOLL_SECONDS", 300.0),
    },
    "purge-expired-wizard-selections": {
        "task": "provisioning.tasks.purge_expired_selections",
        "schedule": 3600.0,
    },
    "poll-open-registrations": {
        "task": "compliance.tasks.poll_open_registrations",
        "schedule": 600.0,
    },
    "poll-live-campaigns": {
        "task": "compliance.tasks.poll_live_campaigns",
        "schedule": env_float("CAMPAIGN_POLL_SECONDS", 3600.0),
    },
    # Numbers joining or leaving campaigns (the carrier takes about two hours).
    "poll-campaign-assignments": {
        "task": "compliance.tasks.poll_campaign_assignments",
        "schedule": 600.0,
    },
    "repoll-pending-texts": {
        "task": "texting.tasks.repoll_pending_messages",
        "schedule": 300.0,
    },
    "delete-expired-discovery-exports": {
        "task": "compliance.tasks.delete_expired_exports",
        "schedule": env_float("EDISCOVERY_SWEEP_SECONDS", 3600.0),
    },
    # The texts table's day partitions for the next TEXTS_PARTITIONS_AHEAD_DAYS days (PostgreSQL; the purge does the
    # same, so either one missing for two weeks leaves texts in the default partition; the task returns how many days
    # ahead the partitions reach, texting.partitions.days_ahead, which /healthz/retention and /metrics report).
    "create-text-partitions": {
        "task": "texting.tasks.create_text_partitions",
        "schedule": crontab(hour=12, minute=0),
    },
    "purge-expired-messages": {
        "task": "texting.tasks.purge_expired_messages",
        "schedule": crontab(hour=RETENTION_PURGE_HOUR, minute=RETENTION_PURGE_MINUTE),
    },
}

# Redis for shared counters and locks (defaults to the broker's Redis).
REDIS_URL = os.environ.get("REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
# The cache holds the password-reset throttle's counters: in Redis when there is one, so every web process counts
# together; else in each process's memory (development). A Redis that does not answer fails fast.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal-cache",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# The carrier (TCR / operators). `make run` points this at the bundled simulator.
CARRIER_API_URL = os.environ.get("CARRIER_API_URL", "http://127.0.0.1:8765")
CARRIER_API_KEY = os.environ.get("CARRIER_API_KEY", "sim-key")
CARRIER_TIMEOUT_SECONDS = env_float("CARRIER_TIMEOUT_SECONDS", 5.0)
# First wait before a task retries a carrier call that failed (doubled each retry, with jitter, capped at 5 minutes).
CARRIER_RETRY_BASE_SECONDS = env_float("CARRIER_RETRY_BASE_SECONDS", 2.0)
# Shared secret of the carrier's callback signatures (X-Carrier-Signature: t=<time>,v1=<HMAC of time and body>).
# Without it every callback is refused.
CARRIER_WEBHOOK_SECRET = os.environ.get("CARRIER_WEBHOOK_SECRET", "sim-webhook-secret" if DEBUG else "")
# How far from now the time a callback was signed at may be (seconds, either way): an older one could be a replay.
CARRIER_WEBHOOK_TOLERANCE_SECONDS = env_int("CARRIER_WEBHOOK_TOLERANCE_SECONDS", 300)
# The portal's own address as the carrier reaches it, for callbacks; empty: no callbacks, polling only.
CARRIER_CALLBACK_BASE_URL = os.environ.get("CARRIER_CALLBACK_BASE_URL", "")

# Authorising numbers (provisioning): chunk size per carrier request, polling and retry pacing.
AUTHORISATION_CHUNK_SIZE = env_int("AUTHORISATION_CHUNK_SIZE", 500)
AUTHORISATION_POLL_SECONDS = env_float("AUTHORISATION_POLL_SECONDS", 10.0)
AUTHORISATION_POLL_MAX = env_int("AUTHORISATION_POLL_MAX", 360)
AUTHORISATION_RETRY_BASE_SECONDS = env_float("AUTHORISATION_RETRY_BASE_SECONDS", 2.0)
AUTHORISATION_MAX_RETRIES = env_int("AUTHORISATION_MAX_RETRIES", 8)
AUTHORISATION_STUCK_MINUTES = env_float("AUTHORISATION_STUCK_MINUTES", 15.0)
# An order still open this long after it was placed is past its deadline (metric and alert; README "Operating").
AUTHORISATION_ORDER_DEADLINE = timedelta(minutes=env_float("AUTHORISATION_ORDER_DEADLINE_MINUTES", 60.0))
# The Authorize wizard's selection (provisioning.WizardSelection) is deleted this long after its last change.
WIZARD_SELECTION_HOURS = env_float("WIZARD_SELECTION_HOURS", 24.0)

# 10DLC registration (compliance): first re-poll of the registry after a submission.
REGISTRATION_POLL_SECONDS = env_float("REGISTRATION_POLL_SECONDS", 5.0)
# Retries of a registration call the carrier did not answer, before support is told (the periodic poll carries on).
REGISTRATION_MAX_RETRIES = env_int("REGISTRATION_MAX_RETRIES", 8)
# Business texts sent to the carrier (texting): retries of a send, and status polling.
TEXTING_SEND_MAX_RETRIES = env_int("TEXTING_SEND_MAX_RETRIES", 6)
TEXTING_POLL_SECONDS = env_float("TEXTING_POLL_SECONDS", 5.0)
TEXTING_POLL_MAX = env_int("TEXTING_POLL_MAX", 60)

# What registry actions cost (SPEC.md 8: shown before support submits them), in REGISTRY_COST_CURRENCY. Defaults are
# The Campaign Registry's list prices; set the ones in your contract.
REGISTRY_COST_CURRENCY = os.environ.get("REGISTRY_COST_CURRENCY", "USD")
REGISTRY_COST_BRAND = env_money("REGISTRY_COST_BRAND", "4.00")  # one brand registration
REGISTRY_COST_SECONDARY_VETTING = env_money("REGISTRY_COST_SECONDARY_VETTING", "40.00")  # one vetting request
REGISTRY_COST_CAMPAIGN_VETTING = env_money("REGISTRY_COST_CAMPAIGN_VETTING", "15.00")  # one campaign review
REGISTRY_COST_CAMPAIGN_MONTHLY = env_money("REGISTRY_COST_CAMPAIGN_MONTHLY", "10.00")  # each campaign, per month
# The periodic look at every live campaign and pending vetting (operators' events may also arrive by callback).
CAMPAIGN_POLL_SECONDS = env_float("CAMPAIGN_POLL_SECONDS", 3600.0)

# The portal's public address, for links in emails (e.g. https://hub.example.com); empty: links are paths only.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "")
# Where support hears that a customer wrote or submitted the form on a case nobody owns (comma-separated addresses,
# e.g. a shared mailbox); empty: every active support user. A case with an owner emails its owner only.
SUPPORT_NOTIFICATION_EMAIL = env_list("SUPPORT_NOTIFICATION_EMAIL")
# What registry actions cost (SPEC.md 8), in US dollars, shown to support before it submits them.
REGISTRY_COST_BRAND = env_float("REGISTRY_COST_BRAND", 4.0)
REGISTRY_COST_CAMPAIGN_VETTING = env_float("REGISTRY_COST_CAMPAIGN_VETTING", 15.0)
REGISTRY_COST_CAMPAIGN_MONTHLY = env_float("REGISTRY_COST_CAMPAIGN_MONTHLY", 10.0)
REGISTRY_COST_SECONDARY_VETTING = env_float("REGISTRY_COST_SECONDARY_VETTING", 40.0)

# Demo data password (seed_demo).
PORTAL_DEMO_PASSWORD = os.environ.get("PORTAL_DEMO_PASSWORD", "texting-demo")

# Business texting: the minimum Webex App version a texting user needs (SPEC.md section 1).
MIN_WEBEX_APP_VERSION = (42, 12)

# Business texting volumes (SPEC.md 5: texting is not unlimited): per business number, per UTC day and per minute.
TEXTING_DAILY_CAP_PER_NUMBER = env_int("TEXTING_DAILY_CAP_PER_NUMBER", 1000)
TEXTING_BURST_PER_MINUTE = env_int("TEXTING_BURST_PER_MINUTE", 30)
# Message retention (SPEC.md 5): kept this many days, then deleted by the nightly purge. Not editable in the portal.
MESSAGE_RETENTION_DAYS = env_int("MESSAGE_RETENTION_DAYS", 400)
# Rows the purge deletes per transaction (tuned with benchmarks/retention.py: each batch well under one second).
MESSAGE_RETENTION_BATCH_SIZE = env_int("MESSAGE_RETENTION_BATCH_SIZE", 50000)
# Day partitions of the texts table created ahead (PostgreSQL, texting.partitions).
TEXTS_PARTITIONS_AHEAD_DAYS = env_int("TEXTS_PARTITIONS_AHEAD_DAYS", 14)
# /healthz/retention answers 503 when the day partitions reach fewer days than this past today (beat makes them at
# 12:00 UTC: below two days, tomorrow's texts may go to the default partition before beat runs again).
TEXTS_PARTITIONS_MIN_AHEAD_DAYS = env_int("TEXTS_PARTITIONS_MIN_AHEAD_DAYS", 2)
# Creating or dropping a partition waits at most this long for the texts table's lock (a long export reading the
# texts holds it off; waiting longer would queue every other query behind it): a partition not created is made by the
# next run, one not dropped is deleted row by row that night.
TEXTS_PARTITION_LOCK_TIMEOUT_MS = env_int("TEXTS_PARTITION_LOCK_TIMEOUT_MS", 2000)
# The purge's lock lease, renewed after every batch: a purge killed halfway blocks the next one at most this long.
RETENTION_LOCK_TTL_SECONDS = env_float("RETENTION_LOCK_TTL_SECONDS", 300.0)
# /healthz/retention answers 503 when the last successful purge finished longer ago than this (the purge is nightly,
# so one missed night is noticed within half a day).
RETENTION_STALE_AFTER_HOURS = env_float("RETENTION_STALE_AFTER_HOURS", 36.0)

# Operations (portal/observability.py, portal/metrics.py; README "Operating"). Metrics on by default; /metrics
# answers only the scraper: a bearer token, or a connection from one of the allowed addresses or networks (none by
# default, DEBUG or not: the counts span every organisation).
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES")
for _network in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES: {_network!r} is not an address or network (e.g. 10.0.0.5 or 10.0.0.0/24)."
        ) from None

# Logs: readable text by default, JSON lines with LOG_FORMAT=json; every line carries the request id (or "-").
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}.")

# eDiscovery (compliance officers): export archives are written under this directory (outside the repository in a
# deployment: a volume the web and worker processes share), downloadable for this many days, then deleted by the beat.
EDISCOVERY_EXPORT_DIR = Path(os.environ.get("EDISCOVERY_EXPORT_DIR") or BASE_DIR / "var" / "exports")
EDISCOVERY_EXPORT_DAYS = env_int("EDISCOVERY_EXPORT_DAYS", 7)
# A search names a date range: this many days back when none is given, and at most EDISCOVERY_MAX_RANGE_DAYS long.
EDISCOVERY_DEFAULT_RANGE_DAYS = env_int("EDISCOVERY_DEFAULT_RANGE_DAYS", 30)
EDISCOVERY_MAX_RANGE_DAYS = env_int("EDISCOVERY_MAX_RANGE_DAYS", 3660)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.observability.RequestIdFilter"}},
    "formatters": {
        "text": {"()": "portal.observability.TextFormatter"},
        "json": {"()": "portal.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # axes: failed sign-ins and lockouts (WARNING) are worth a line; its INFO chatter on every sign-in is not.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
