"""Settings for the alliance platform, driven by the environment (django-environ, strict parsing).

Production is the default: DEBUG is off and SECRET_KEY is required. `make run` sets DEBUG=true;
the test suite (pytest) gets a fixed throwaway key and fast password hashing.
"""

import datetime
import re
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from . import api, content_policy, keys, schedule

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")


def env_bool(name: str, default: bool) -> bool:
    """Strict boolean: a value that is neither true nor false stops the start-up."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(for local development, run with DEBUG=true or use `make run`)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_bootstrap5",
    "csp",
    "rules",  # each app imports its rules.py in AppConfig.ready()
    "pgtrigger",
    "pghistory",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "core",
    "alliance",
    "referrals",
    "sharedcenters",
    "reporting",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.audit.AuditRequestMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.twofactor.TwoFactorMiddleware",
    "core.middleware.NoStoreForAuthenticatedMiddleware",
    "core.middleware.AuditDeniedMiddleware",
    "core.history.HistoryContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware_sessions.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
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
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alliance.context_processors.staff_profile",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite by default so `make run` needs nothing installed; PostgreSQL via DATABASE_URL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 3, "socket_timeout": 3},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "core.backends.AddressThrottleBackend",  # many failures from one address, any username
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before any check
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): five failures for one username from one address lock that pair
# for 30 minutes. By the pair, so that one hospital behind a NAT address is not locked out as a
# whole, and one user's typos do not lock a colleague out. Attempts and lockouts are rows
# (AccessAttempt, AccessFailureLog, AccessLog) in the admin; `manage.py axes_reset` unlocks.
# Two-factor sign-in (core/twofactor.py): mandatory for superusers and, by the policy
# (alliance.rules.needs_two_factor), for these roles; optional for community staff unless
# TWO_FACTOR_COMMUNITY_REQUIRED. Off in DEBUG (the demo accounts of `make run`) and in the test
# suite, unless set.
TWO_FACTOR_ENFORCED = env_bool("TWO_FACTOR_ENFORCED", default=not (DEBUG or TESTING))
TWO_FACTOR_REQUIRED_ROLES = (
    "hospital_staff",
    "center_staff",
    "alliance_office",
    "security_auditor",
)
TWO_FACTOR_COMMUNITY_REQUIRED = env_bool("TWO_FACTOR_COMMUNITY_REQUIRED", default=False)
TWO_FACTOR_POLICY = "alliance.rules.needs_two_factor"
# The access log (core.audit) is the domain's table, as the user model is: its rows name the
# patient whose data a response showed.
AUDIT_LOG_MODEL = "alliance.AccessLog"
AUDIT_SUBJECT_MODEL = "alliance.Patient"
OTP_TOTP_ISSUER = "医联体平台"

AXES_ENABLED = True
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
# Across usernames: this many failed sign-ins from one address within the window refuse every
# further attempt from it until the window has passed (core.backends; logged as a lockout).
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
LOGIN_ADDRESS_WINDOW_MINUTES = env.int("LOGIN_ADDRESS_WINDOW_MINUTES", default=15)
# Look-ups by full identity number and patient registrations through the API, together, per
# user (core.api.throttling): past the rate a 429, the burst logged once as an enumeration.
IDENTITY_NUMBER_RATE = env.str("IDENTITY_NUMBER_RATE", default="30/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", IDENTITY_NUMBER_RATE):
    raise ImproperlyConfigured("IDENTITY_NUMBER_RATE is a count per period, e.g. 30/min")
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client address is REMOTE_ADDR unless the deployment names the header its own proxy sets
# (e.g. AXES_IPWARE_META_PRECEDENCE_ORDER=HTTP_X_REAL_IP): a client can forge any other header.
AXES_IPWARE_META_PRECEDENCE_ORDER = tuple(
    env.list("AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"])
)
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)

# Sessions end after 30 minutes idle (SESSION_COOKIE_AGE; activity renews it, written at most once
# a minute), 12 hours after login whatever the activity, and when the browser closes: all in
# core.middleware_sessions.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Internationalisation: Simplified Chinese first, English switchable ----------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files: npm packages are collected from node_modules, served by whitenoise --------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.staticfinders.NpmFinder",
]
NPM_STATIC_FILES = {
    "tabler/css/tabler.min.css": "@tabler/core/dist/css/tabler.min.css",
    "tabler/css/tabler.min.css.map": "@tabler/core/dist/css/tabler.min.css.map",
    "tabler/js/tabler.min.js": "@tabler/core/dist/js/tabler.min.js",
    "tabler/js/tabler.min.js.map": "@tabler/core/dist/js/tabler.min.js.map",
    "echarts/echarts.min.js": "echarts/dist/echarts.min.js",
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Tests render templates without a collectstatic run, so they use the plain storage.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING or DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)  # idle limit: see Auth
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    # Behind a TLS-terminating proxy that sets the header (and drops a client's own): NAME:value.
    # "off" when clients reach the server directly, so that none can claim HTTPS.
    _proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="HTTP_X_FORWARDED_PROTO:https")
    if _proxy_ssl_header.strip().lower() not in {"", "off", "false", "none"}:
        _name, _value = (part.strip() for part in _proxy_ssl_header.partition(":")[::2])
        if not (_name.startswith("HTTP_") and _value):
            raise ImproperlyConfigured(
                f"SECURE_PROXY_SSL_HEADER={_proxy_ssl_header!r} is not HTTP_NAME:value "
                "(e.g. HTTP_X_FORWARDED_PROTO:https) or off."
            )
        SECURE_PROXY_SSL_HEADER = (_name, _value)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not TESTING)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # load-balancer probes speak plain HTTP
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not TESTING)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not TESTING)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain to HTTPS in browsers for months: the operator's
        # decision, not a default (README, "Deployment checks").
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content Security Policy (django-csp 4): config/content_policy.py.
CONTENT_SECURITY_POLICY = content_policy.CONTENT_SECURITY_POLICY

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
if env.str("EMAIL_URL", default=""):
    # e.g. smtp+tls://user:password@smtp.example.org:587
    globals().update(env.email_url("EMAIL_URL"))
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@alliance.local")

# --- REST framework -------------------------------------------------------------------------
# The framework's and the schema's settings: config/api.py.
REST_FRAMEWORK = api.REST_FRAMEWORK
# API tokens (django-rest-knox): hashed at rest, `Authorization: Token <token>`. A sign-in token
# lives API_TOKEN_HOURS (12 h by default) and dies on logout, a password change or deactivation.
# knox's own migrations would create its AuthToken table even though alliance.ApiToken replaces
# it (and an orphan table referencing auth_user breaks flushes): knox gets no migrations here.
MIGRATION_MODULES = {"knox": None}
KNOX_TOKEN_MODEL = "alliance.ApiToken"  # noqa: S105 - a model name, not a secret
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(hours=env.int("API_TOKEN_HOURS", default=12)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# Personal access tokens (a two-factor-verified user's own, /accounts/tokens/) and machine tokens
# (the alliance office's, for a hospital system, /alliance/tokens/) live this many days; neither
# ends with a browser logout, both end with a password change or deactivation (alliance/tokens.py).
API_PERSONAL_TOKEN_DAYS = env.int("API_PERSONAL_TOKEN_DAYS", default=90)
API_MACHINE_TOKEN_DAYS = env.int("API_MACHINE_TOKEN_DAYS", default=365)
SPECTACULAR_SETTINGS = api.SPECTACULAR_SETTINGS

# --- Celery: Redis broker when configured, in-process (eager) otherwise ----------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"
if TESTING:
    # The suite runs tasks in-process; tests/test_celery_worker.py switches to the real broker.
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A Redis that accepts connections but never answers must not hang a request for minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 3,
    "socket_connect_timeout": 3,
    "visibility_timeout": 3600,
}
# Publishers give up on a broker that accepted the connection but does not answer after one try
# (socket_timeout above) instead of reconnecting for the default 4 s window: a request pays
# about 3 s once, and core.outbox leaves the message to its sweeper.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# Workers recycle a child process once it has grown past this many KiB (after its task) or
# run this many tasks: an import that made a child big does not keep that memory.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int(
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=1_500_000
)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=50)
# A hard ceiling on the heap of each worker process (RLIMIT_DATA, MB; 0: none), set when it
# starts (config/celery.py): past it an allocation fails (MemoryError) instead of the machine
# swapping; the job fails, or its worker dies and the heartbeat sweeper marks it failed.
CELERY_WORKER_MEMORY_LIMIT_MB = env.int("CELERY_WORKER_MEMORY_LIMIT_MB", default=3072)
# Every periodic schedule of the platform: config/schedule.py.
CELERY_BEAT_SCHEDULE = schedule.BEAT_SCHEDULE
# A running job (import, recompute) beats at least every few seconds while it works; one silent
# for this long has lost its worker and is marked failed, ready to be re-run.
JOB_HEARTBEAT_TIMEOUT_MINUTES = env.int("JOB_HEARTBEAT_TIMEOUT_MINUTES", default=5)

# --- Imports of fact files: what one file may make the server do ------------------------------
# A file over a limit is refused whole, with one sentence naming the limit; nothing is written.
IMPORT_MAX_UNZIPPED_BYTES = env.int("IMPORT_MAX_UNZIPPED_BYTES", default=200 * 1024 * 1024)
IMPORT_MAX_SHARED_STRINGS_BYTES = env.int(
    "IMPORT_MAX_SHARED_STRINGS_BYTES", default=64 * 1024 * 1024
)
IMPORT_MAX_ZIP_MEMBERS = env.int("IMPORT_MAX_ZIP_MEMBERS", default=1_000)
IMPORT_MAX_SHEET_CELLS = env.int("IMPORT_MAX_SHEET_CELLS", default=20_000_000)  # rows × columns
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=2_000_000)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=200)
IMPORT_MAX_ROW_CHARS = env.int("IMPORT_MAX_ROW_CHARS", default=100_000)  # a CSV line, a cell
IMPORT_MAX_SECONDS = env.int("IMPORT_MAX_SECONDS", default=600)
# Every import runs in a Celery worker, never in the web process. The API waits for the job of
# an upload up to this size (and of a workbook only when it unzips to at most
# IMPORT_SYNC_MAX_UNZIPPED_BYTES) and answers its result (200) or rejection (400); a larger one
# is answered at once with the job (202).
IMPORT_SYNC_MAX_BYTES = env.int("IMPORT_SYNC_MAX_BYTES", default=4 * 1024 * 1024)
IMPORT_SYNC_MAX_UNZIPPED_BYTES = env.int("IMPORT_SYNC_MAX_UNZIPPED_BYTES", default=32 * 1024 * 1024)
# How long the API waits for that job before answering 202 with it; below gunicorn's 30 s
# timeout, so a busy worker queue never gets the request killed.
IMPORT_SYNC_WAIT_SECONDS = env.float("IMPORT_SYNC_WAIT_SECONDS", default=20)


# --- Patient data ---------------------------------------------------------------------------
# Identity numbers are encrypted at rest (AES-256-GCM, core/fields.py) and found by a keyed
# hash (HMAC-SHA256). Each key has its own environment variable, never derived from SECRET_KEY in
# production:
#   PATIENT_ID_KEYS="2025a:<base64 32 bytes>,2024b:<base64 32 bytes>"  the first encrypts; every
#       key listed decrypts the values it wrote (the key id is stored with each value), so a new
#       key goes first and an old one stays until no row uses it any more;
#   PATIENT_ID_HMAC_KEY="<base64, at least 32 bytes>"  for lookups and uniqueness.
# Make a key with: python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"
# For development and the test suite only, fixed keys are derived from SECRET_KEY when the
# variables are not set; in production (DEBUG off) a missing key stops the start-up (config/keys.py
# reads them).
PATIENT_ID_KEYS = keys.patient_id_keys(env.str("PATIENT_ID_KEYS", default=""))
_patient_id_hmac_key = env.str("PATIENT_ID_HMAC_KEY", default="")
PATIENT_ID_HMAC_KEY = (
    keys.b64_key("PATIENT_ID_HMAC_KEY", _patient_id_hmac_key, minimum=32)
    if _patient_id_hmac_key
    else b""
)
if not (PATIENT_ID_KEYS and PATIENT_ID_HMAC_KEY) and not (DEBUG or TESTING):
    raise ImproperlyConfigured(
        "PATIENT_ID_KEYS and PATIENT_ID_HMAC_KEY must both be set in production: identity "
        "numbers are encrypted with them (see config/settings.py, 'Patient data')."
    )
if not PATIENT_ID_KEYS:
    PATIENT_ID_KEYS = {"dev": keys.development_key("patient-id-aes", SECRET_KEY)}
if not PATIENT_ID_HMAC_KEY:
    PATIENT_ID_HMAC_KEY = keys.development_key("patient-id-hmac", SECRET_KEY)

# --- Referrals ------------------------------------------------------------------------------
# Minutes to answer a referral, and minutes past that deadline before it expires, per urgency.
# The alliance office overrides them in the admin (ResponseLimit); these are the defaults.
REFERRAL_RESPONSE_LIMITS = {
    "emergency": (15, 60),
    "urgent": (4 * 60, 24 * 60),
    "routine": (2 * 24 * 60, 5 * 24 * 60),
}
# Attachments: PDF, JPEG or PNG (checked by content, not by name), at most this many bytes.
REFERRAL_ATTACHMENT_MAX_BYTES = env.int("REFERRAL_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Where pre-arrival alerts for emergencies go: a backend registered in core.registry.alert_backends
# ("log" writes them to the log) or a dotted path to a callable(phone, message): a hospital plugs
# in its SMS or paging gateway here.
REFERRAL_ALERT_BACKEND = env.str("REFERRAL_ALERT_BACKEND", default="log")

# --- Shared centers -------------------------------------------------------------------------
# A critical value (危急值) goes to the ordering department's on-duty phone through this backend;
# unacknowledged after this many minutes, it is escalated to the alliance office.
CRITICAL_VALUE_ALERT_BACKEND = env.str("CRITICAL_VALUE_ALERT_BACKEND", default="log")
CRITICAL_VALUE_ACK_MINUTES = env.int("CRITICAL_VALUE_ACK_MINUTES", default=10)
# Either alert backend's gateway, unanswered after this many seconds, is given up on for now
# (core.events.deliver_once): the event's row lock is let go and the task retries.
DELIVERY_TIMEOUT_SECONDS = env.float("DELIVERY_TIMEOUT_SECONDS", default=10.0)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # In-process (eager) tasks would log a line per notification on the development console.
    "loggers": {"celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"}},
}

ADMIN_SITE_HEADER = _("Medical Alliance Platform")
