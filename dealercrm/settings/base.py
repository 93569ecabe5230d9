"""Settings shared by every environment.

Read from the environment with django-environ. With no environment at all the
project runs as the demo: a SQLite file beside manage.py and Celery eager.
``DATABASE_URL`` switches to PostgreSQL, ``REDIS_URL`` to Redis as broker,
result store and cache.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab, schedule

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

DJANGO_APPS = [
    "dealercrm.core.apps.OperatorsAdminConfig",  # django.contrib.admin, for the platform's operators only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_celery_beat",
    "django_celery_results",
    "simple_history",
    "phonenumber_field",
    "rules.apps.AutodiscoverRulesConfig",
]
LOCAL_APPS = [
    "dealercrm.core",
    "customers",
    "segmentation",
    "campaigns",
    "followups",
    "reports",
    "privacy",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "dealercrm.core.middleware.CurrentDealershipMiddleware",
    # Last: turns a login refused by a lockout into the lockout page (or the API's 429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dealercrm.urls"
WSGI_APPLICATION = "dealercrm.wsgi.application"
ASGI_APPLICATION = "dealercrm.asgi.application"

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
                "django.template.context_processors.i18n",
                "dealercrm.core.context_processors.tenancy",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Personal data (PIPL) ---------------------------------------------------
# Phone numbers are stored encrypted (dealercrm.core.crypto): Fernet keys, newest first, comma-separated; the
# keyed hash that finds them has its own key. Both are required: the application refuses to start without
# them (local and test settings give fixed development keys).
PHONE_ENCRYPTION_KEYS = env.list("PHONE_ENCRYPTION_KEYS", default=[])
PHONE_HASH_KEY = env("PHONE_HASH_KEY", default="")
# How long the access log (reveals, exports, data-subject actions, failed sign-ins) is kept.
ACCESS_LOG_RETENTION_DAYS = env.int("ACCESS_LOG_RETENTION_DAYS", default=3 * 365)
# Customers with no visit, touch or consent for this many years are listed for review (and anonymised).
CUSTOMER_RETENTION_YEARS = env.int("CUSTOMER_RETENTION_YEARS", default=5)

# --- Auth ------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username + address before any password is checked (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "customers:counter"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# API tokens (django-rest-knox): stored as SHA-512 digests, the key shown once; named, with an expiry.
# knox's own AuthToken is swapped out: its migrations would only make an unused table (with a foreign key to
# the users that TRUNCATE, e.g. a live-server test's flush, trips over).
MIGRATION_MODULES = {"knox": None}
KNOX_TOKEN_MODEL = "core.ApiToken"  # noqa: S105 - a model, not a secret
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# Login throttling (django-axes) on the login page, the admin login and the token endpoint: a username
# is locked from an address after AXES_FAILURE_LIMIT failures in a row, for AXES_COOLOFF_TIME.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dealercrm.core.lockout.lockout_response"
# Behind N reverse proxies that append to X-Forwarded-For, set DJANGO_TRUSTED_PROXY_COUNT=N so that failures are
# counted per client address, not per proxy.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "dealercrm.core.lockout.client_ip"
AXES_VERBOSE = False

# Content-Security-Policy (django-csp): scripts, styles, fonts, images and requests from this site only;
# no inline script anywhere (JavaScript lives in static/js/), no plugins, no framing, forms post here only.
# Style *attributes* stay allowed (a few templates size a chart or a select with one; they cannot run code);
# <style> elements do not: htmx is told not to inject its indicator styles (app.css has them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- I18N ------------------------------------------------------------------
LANGUAGE_CODE = env("DJANGO_LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Cache -----------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions are read through the cache (Redis when REDIS_URL is set) and written through to the database: a
# page spares its session query (the customer 360 page's benchmark, issue 11), and nothing is lost when the
# cache is emptied.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery ----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The beat schedule is declared here, in code; django-celery-beat mirrors it
# into the database so that the admin shows it.
CELERY_BEAT_SCHEDULE = {
    "flag-duplicate-phones-nightly": {
        "task": "customers.tasks.flag_duplicate_phones_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "access-log-purge-nightly": {
        "task": "dealercrm.core.tasks.access_log_purge_task",
        "schedule": crontab(hour=2, minute=45),
    },
    "segment-nightly": {
        "task": "segmentation.tasks.segment_all_task",
        "schedule": crontab(hour=3, minute=0),
    },
    # Hourly: each step acts on the day of each store's own time zone, and is idempotent.
    "campaigns-daily": {
        "task": "campaigns.tasks.campaigns_daily_task",
        "schedule": crontab(minute=10),
    },
    # Follow-ups: the planner inserts the touches that are due from the records; the dispatcher sends the due
    # ones; both are idempotent and read everything from the database.
    "followups-plan": {
        "task": "followups.tasks.plan_touches_task",
        "schedule": schedule(timedelta(seconds=env.int("FOLLOWUPS_PLAN_EVERY_SECONDS", default=300))),
    },
    "followups-dispatch": {
        "task": "followups.tasks.dispatch_touches_task",
        "schedule": schedule(timedelta(seconds=env.int("FOLLOWUPS_DISPATCH_EVERY_SECONDS", default=60))),
    },
    "followups-complaint-deadlines": {
        "task": "followups.tasks.complaint_deadlines_task",
        "schedule": crontab(minute="*/15"),
    },
    # Every 15 minutes: builds and sends the weekly report pack of each store whose local time is past Monday
    # 08:00 and whose pack of last week is not sent yet (idempotent: once per week, store and recipient).
    "reports-weekly-packs": {
        "task": "reports.tasks.weekly_packs_task",
        "schedule": crontab(minute="*/15"),
    },
}

# --- Follow-ups ------------------------------------------------------------
# The back end of each channel (``followups.channels``): the database back end records messages (the demo's).
FOLLOWUPS_CHANNELS = {
    "sms": env("FOLLOWUPS_SMS_BACKEND", default="followups.channels.database.DatabaseChannel"),
    "wechat": env("FOLLOWUPS_WECHAT_BACKEND", default="followups.channels.database.DatabaseChannel"),
    "email": env("FOLLOWUPS_EMAIL_BACKEND", default="followups.channels.database.DatabaseChannel"),
}
# (issue 11's helpers add their settings below this line, one block each)

# Planner (followups.planner): a touch whose due day is more than LOOKBACK days past is not created (importing old
# visits never floods customers); reminders and birthdays are planned up to AHEAD days before they are due.
FOLLOWUPS_PLAN_LOOKBACK_DAYS = env.int("FOLLOWUPS_PLAN_LOOKBACK_DAYS", default=3)
FOLLOWUPS_PLAN_AHEAD_DAYS = env.int("FOLLOWUPS_PLAN_AHEAD_DAYS", default=14)

# The demo's follow-up loop (followups/management/commands/run_followups.py; ``make demo`` starts it).
#: seconds between two rounds of ``manage.py run_followups`` (plan, send, complaint deadlines)
FOLLOWUPS_RUN_EVERY_SECONDS = env.float("FOLLOWUPS_RUN_EVERY_SECONDS", default=30)
if "postgresql" in DATABASES["default"]["ENGINE"] and not env.bool("DJANGO_PG_JIT", default=False):
    # PostgreSQL's JIT compiles a query it guesses expensive before running it; for the reports' grouped queries
    # over a campaign's invitations that took longer than the query itself (1.06 s of 1.67 s). Off unless
    # DJANGO_PG_JIT says otherwise.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The demo writes from two processes (the server and run_followups): wait for SQLite's lock, do not fail.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)

# Dispatcher, channels and webhooks (followups.dispatcher, followups.channels, followups.webhooks).
#: the absolute address of the site, for links in messages (surveys, invitations)
SITE_URL = env("SITE_URL", default="http://localhost:8000")
FOLLOWUPS_DISPATCH_BATCH = env.int("FOLLOWUPS_DISPATCH_BATCH", default=500)
#: how long a claimed touch stays with its worker; a worker that dies leaves it to the next after this
FOLLOWUPS_LEASE_SECONDS = env.int("FOLLOWUPS_LEASE_SECONDS", default=300)
#: a definite provider error is retried after base·2^(attempt-1) seconds, at most max seconds
FOLLOWUPS_RETRY_BASE_SECONDS = env.int("FOLLOWUPS_RETRY_BASE_SECONDS", default=60)
FOLLOWUPS_RETRY_MAX_SECONDS = env.int("FOLLOWUPS_RETRY_MAX_SECONDS", default=3600)
#: the language of customers' messages when the store's template says nothing else
FOLLOWUPS_MESSAGE_LANGUAGE = env("FOLLOWUPS_MESSAGE_LANGUAGE", default="zh-hans")
#: seconds an HTTP provider may take before the send counts as ambiguous (connect, read)
FOLLOWUPS_HTTP_TIMEOUT = env.float("FOLLOWUPS_HTTP_TIMEOUT", default=5.0)
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = env("SMS_GATEWAY_KEY", default="")
SMS_SIGNATURE = env("SMS_SIGNATURE", default="")
#: the shared secret of the SMS gateway's webhooks (delivery receipts, replies): HMAC-SHA256 over timestamp.body
SMS_WEBHOOK_SECRET = env("SMS_WEBHOOK_SECRET", default="")
WECHAT_API_URL = env("WECHAT_API_URL", default="")
WECHAT_APP_ID = env("WECHAT_APP_ID", default="")
WECHAT_APP_SECRET = env("WECHAT_APP_SECRET", default="")
#: a webhook call whose timestamp is further than this from now is refused as stale
FOLLOWUPS_WEBHOOK_MAX_AGE_SECONDS = env.int("FOLLOWUPS_WEBHOOK_MAX_AGE_SECONDS", default=300)

# --- REST framework --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated REST client gets 401 with WWW-Authenticate: Token.
        "dealercrm.core.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "dealercrm.core.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "dealercrm.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "dealercrm.core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": env("API_USER_THROTTLE_RATE", default="2000/minute")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DealerCRM API",
    "DESCRIPTION": (
        "After-sales CRM for car dealerships: customers, vehicles, service visits and DMS import.\n\n"
        "Authenticate with a token: POST username and password to /api/v1/auth/token/, then send "
        "`Authorization: Token <token>` with every request. A user of several dealerships names the one "
        "to work in with the `X-Dealership: <code>` header (or `?dealership=<code>`); a code that is not "
        "one of theirs answers 404, as does any record of another dealership."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Nothing fetched from elsewhere (the CSP would refuse the public validator's badge anyway).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConsentChannelEnum": "customers.models.ConsentChannel",
        "AppointmentStatusEnum": "customers.models.Appointment.Status",
        "AppointmentSourceEnum": "customers.models.Appointment.Source",
        "AppointmentStatusChangeEnum": "customers.api.serializers.STATUS_CHANGES",
        "VisitTypeEnum": "customers.models.VisitType",
        "InvitationStatusEnum": "campaigns.models.Invitation.Status",
        "CouponTemplateKindEnum": "campaigns.models.CouponTemplate.Kind",
        "TouchKindEnum": "followups.models.Touch.Kind",
        "TouchStatusEnum": "followups.models.Touch.Status",
        "TouchChannelEnum": "followups.models.TouchChannel",
        "CampaignKindEnum": "campaigns.models.CampaignKind",
        "ReportColumnKindEnum": "reports.registry.KINDS",
        "ReportUnitEnum": "reports.registry.UNITS",
    },
}

# --- E-mail (the weekly report pack, complaint escalations) -------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="DealerCRM <noreply@localhost>")

# --- Forms -----------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"

# --- Uploads ---------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DMS_IMPORT_MAX_UPLOAD_MB = env.int("DMS_IMPORT_MAX_UPLOAD_MB", default=200)

# --- Logging ---------------------------------------------------------------
# One console handler on the root logger; every logger (Django's, Celery's, the app's) propagates to it, and its
# filter masks mainland phone numbers in each record (dealercrm.core.logging): the logs hold no plain number.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_phones": {"()": "dealercrm.core.logging.MaskPhoneNumbers"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_phones"]},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # Django's own handlers (its console in DEBUG, mail_admins) would write records unmasked: none, propagate.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "celery": {"handlers": [], "propagate": True},
        # django-axes says "successful login" at INFO on every sign-in: failures are in the access log instead
        "axes": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
#: the worker keeps this configuration (and its filter) instead of installing handlers of its own
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
