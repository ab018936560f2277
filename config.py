"""Every setting in one place, read from the environment.

`Config` is production-shaped; `DevConfig` is the embedded default that `make run` serves
(SQLite under instance/, in-process jobs, generated local secrets); `TestConfig` is what pytest
uses. Outside-world base URLs are settings so tests and staging can point them at local fakes.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CLOSER_INSTANCE_DIR", BASE_DIR / "instance"))

# The Graph API version is part of the base URL so adapters append only `/{id}/messages`.
GRAPH_API_VERSION = "v25.0"
DEV_SECRET_KEY = "dev-not-secret-change-me"
# Production takes payments only through Razorpay (the test-mode page exists only outside it).
RAZORPAY_SETTINGS = ("RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production defaults: everything sensitive must come from the environment."""

    APP_NAME = "Closer"
    APP_THEME = ""
    SECRET_KEY = _env("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'closer.db'}")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection is checked (one round trip) before use only after sitting idle this
    # long; 0 checks it on every checkout (SQLAlchemy's pool_pre_ping). See app/db_pool.py.
    DB_PING_IDLE_SECONDS = float(_env("DB_PING_IDLE_SECONDS", "10"))
    # RQ's own log lines: INFO writes three per job (started, OK, result kept or not), which
    # at dozens of replies a second is a busy log and measurable CPU; WARNING keeps the
    # failures, retries and worker start/stop.
    WORKER_LOG_LEVEL = _env("WORKER_LOG_LEVEL", "INFO")
    REDIS_URL = _env("REDIS_URL")
    # Fernet keys, comma separated, newest first (MultiFernet: encrypt with the first, decrypt with any).
    TOKEN_ENCRYPTION_KEYS = _env("TOKEN_ENCRYPTION_KEYS")

    GROQ_API_KEY = _env("GROQ_API_KEY")
    GROQ_BASE_URL = _env("GROQ_BASE_URL", "https://api.groq.com")
    GROQ_MODEL = _env("GROQ_MODEL", "openai/gpt-oss-120b")
    # A small, fast model rates each conversation (lead score, sentiment) in its own job.
    GROQ_SCORING_MODEL = _env("GROQ_SCORING_MODEL", "llama-3.1-8b-instant")
    # Leo, the owner's analytics assistant: its model (tool calling over the analytics), and
    # Groq's web-searching compound model for outside context such as industry benchmarks
    # (empty: no outside context). Questions longer than LEO_MAX_QUESTION_CHARS are refused.
    LEO_MODEL = _env("LEO_MODEL", "openai/gpt-oss-120b")
    LEO_OUTSIDE_MODEL = _env("LEO_OUTSIDE_MODEL", "groq/compound-mini")
    LEO_MAX_QUESTION_CHARS = int(_env("LEO_MAX_QUESTION_CHARS", "500"))
    META_APP_ID = _env("META_APP_ID")
    META_APP_SECRET = _env("META_APP_SECRET")
    META_VERIFY_TOKEN = _env("META_VERIFY_TOKEN")
    GRAPH_API_BASE = _env("GRAPH_API_BASE", f"https://graph.facebook.com/{GRAPH_API_VERSION}")
    # Connecting channels (app/services/integrations): Facebook Login's dialog, Instagram Login
    # (its own app id/secret and hosts; unset, the Meta app's are used), the permissions asked.
    META_DIALOG_BASE = _env("META_DIALOG_BASE", f"https://www.facebook.com/{GRAPH_API_VERSION}")
    META_LOGIN_SCOPES = _env("META_LOGIN_SCOPES", "pages_show_list,pages_messaging,"
                             "pages_manage_metadata,instagram_basic,instagram_manage_messages,"
                             "business_management")
    INSTAGRAM_APP_ID = _env("INSTAGRAM_APP_ID")
    INSTAGRAM_APP_SECRET = _env("INSTAGRAM_APP_SECRET")
    INSTAGRAM_API_BASE = _env("INSTAGRAM_API_BASE", f"https://graph.instagram.com/{GRAPH_API_VERSION}")
    INSTAGRAM_LOGIN_BASE = _env("INSTAGRAM_LOGIN_BASE", "https://www.instagram.com")
    INSTAGRAM_TOKEN_BASE = _env("INSTAGRAM_TOKEN_BASE", "https://api.instagram.com")
    # Customers' images shown in the inbox come through our own origin (app/services/media.py):
    # only these hosts are ever fetched from (a bare name admits https on it and its
    # subdomains; an entry with a scheme admits exactly that origin, e.g. a local stand-in),
    # up to MEDIA_MAX_BYTES each; MEDIA_CACHE_BYTES of them are kept in each web process so
    # an image still shows after Meta's signed URL has expired.
    META_MEDIA_SOURCES = tuple(s.strip() for s in (_env(
        "META_MEDIA_SOURCES", "fbcdn.net,fbsbx.com,cdninstagram.com,facebook.com,instagram.com,"
        "whatsapp.net") or "").split(",") if s.strip())
    MEDIA_MAX_BYTES = int(_env("MEDIA_MAX_BYTES", str(8 * 1024 * 1024)))
    MEDIA_CACHE_BYTES = int(_env("MEDIA_CACHE_BYTES", str(64 * 1024 * 1024)))
    # A connect link's signed state is good for this long, and once.
    CONNECT_STATE_MAX_AGE = int(_env("CONNECT_STATE_MAX_AGE", "600"))
    # Channel health: tokens and subscriptions are checked this often; a channel is "quiet"
    # when its usual traffic would have brought at least this many messages during its silence.
    CHANNEL_CHECK_MINUTES = int(_env("CHANNEL_CHECK_MINUTES", "60"))
    CHANNEL_QUIET_EXPECTED = float(_env("CHANNEL_QUIET_EXPECTED", "5"))
    RAZORPAY_KEY_ID = _env("RAZORPAY_KEY_ID")
    RAZORPAY_KEY_SECRET = _env("RAZORPAY_KEY_SECRET")
    RAZORPAY_WEBHOOK_SECRET = _env("RAZORPAY_WEBHOOK_SECRET")
    RAZORPAY_API_BASE = _env("RAZORPAY_API_BASE", "https://api.razorpay.com")
    # Unset, it follows `make run`'s PORT, so test-mode payment links work on any port.
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", f"http://127.0.0.1:{_env('PORT', '5000')}")
    # How long a payment link stays payable (Razorpay: at least 15 minutes, at most 6 months).
    PAYMENT_LINK_EXPIRY_MINUTES = int(_env("PAYMENT_LINK_EXPIRY_MINUTES", str(24 * 60)))

    # Jobs
    JOB_TIMEOUT = int(_env("JOB_TIMEOUT", "120"))
    JOB_RETRIES = int(_env("JOB_RETRIES", "3"))
    # A burst of fragments from one customer within this many seconds gets one reply. So do
    # fragments that arrive while the reply is being written (it is dropped and rewritten for
    # all of them), so the window a burst merges in is this plus the model's time (~1-2 s).
    REPLY_DEBOUNCE_SECONDS = float(_env("REPLY_DEBOUNCE_SECONDS", "0.5"))
    # ... unless the burst began longer ago than this: someone who keeps typing is answered.
    REPLY_BURST_MAX_SECONDS = float(_env("REPLY_BURST_MAX_SECONDS", "15"))
    # Unanswered inbound messages / unsent replies older than this are re-queued by the sweep,
    # which runs every SWEEP_EVERY_SECONDS (queued by the workers' heartbeat).
    SWEEP_AFTER_SECONDS = int(_env("SWEEP_AFTER_SECONDS", "15"))
    SWEEP_EVERY_SECONDS = int(_env("SWEEP_EVERY_SECONDS", "10"))
    # Jobs each `flask worker` process runs at once when `-t` is not given. A reply spends
    # nearly all its time waiting on the model and the Send API, so one process carries about
    # this many replies in flight (~20 replies/s at ~2 s each).
    WORKER_THREADS = int(_env("WORKER_THREADS", "40"))
    # A conversation's lock and a running job's entry in RQ's started registry are renewed by
    # their worker process while it lives. A job waiting for the lock takes it over, and the
    # reaper re-runs the job, as soon as that process is known dead: at once on the same
    # machine, within ~10 s (its heartbeat's liveness key) from another. These TTLs are the
    # backstop for holders that run no heartbeat.
    CONVERSATION_LOCK_TTL_SECONDS = float(_env("CONVERSATION_LOCK_TTL_SECONDS", "15"))
    JOB_HEARTBEAT_TTL_SECONDS = int(_env("JOB_HEARTBEAT_TTL_SECONDS", "15"))
    # How long a job waits for a conversation another job is answering before it retries.
    CONVERSATION_LOCK_WAIT_SECONDS = float(_env("CONVERSATION_LOCK_WAIT_SECONDS", "30"))

    # Flask-AppBuilder
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.CloserSecurityManager"
    FAB_CREATE_DB = False  # Alembic owns every table, FAB's included
    FAB_UPDATE_PERMS = False  # roles are regex "builtin" roles; no permission rows to race over
    FAB_BASE_TEMPLATE = "closer/base.html"
    FAB_ADD_SECURITY_API = False
    FAB_API_SWAGGER_UI = False
    FAB_PASSWORD_HASH_METHOD = "scrypt"
    FAB_API_MAX_PAGE_SIZE = 100
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = "10 per 20 second"
    RATELIMIT_ENABLED = True
    # Unset: REDIS_URL when there is one (every worker process counts together), else memory.
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI")
    FAB_ROLES: dict = {}  # filled from app.security.permissions in create_app
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    # Plain-HTTP requests are redirected to HTTPS (X-Forwarded-Proto from the proxy counts).
    FORCE_HTTPS = _bool("FORCE_HTTPS", True)
    JWT_ACCESS_TOKEN_EXPIRES = 3600
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    # Self-registration at /signup (off: /signup answers 404 and the landing page has no call
    # to action; agency admins still create tenants from the Tenants screen).
    SIGNUP_ENABLED = _bool("SIGNUP_ENABLED", True)
    # Sign-up attempts per client address (Flask-Limiter syntax), counted like the login's.
    SIGNUP_RATE_LIMIT = _env("SIGNUP_RATE_LIMIT", "5 per 10 minute")
    # Largest onboarding document accepted (PDF, DOCX, TXT, Markdown); below MAX_CONTENT_LENGTH
    # so an oversized file gets the form's own message rather than a bare 413.
    DOCUMENT_MAX_BYTES = int(_env("DOCUMENT_MAX_BYTES", str(2 * 1024 * 1024)))
    DEFAULT_TIMEZONE = "Asia/Kolkata"
    DEFAULT_CURRENCY = "INR"
    PRODUCTION = True

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to start a production app with development secrets or without Razorpay.

        Without Razorpay a production app would have no way to take money, and the test-mode
        payment page (which marks orders paid without any) must never stand in for it.
        """
        if not config.get("PRODUCTION"):
            return
        problems = []
        if config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY) or len(config["SECRET_KEY"]) < 24:
            problems.append("SECRET_KEY must be set to a long random value")
        if not config.get("TOKEN_ENCRYPTION_KEYS"):
            problems.append("TOKEN_ENCRYPTION_KEYS must be set (Fernet keys, comma separated)")
        missing = [name for name in RAZORPAY_SETTINGS if not config.get(name)]
        if missing:
            problems.append(f"{', '.join(missing)} must be set (production takes payments through "
                            "Razorpay only)")
        if problems:
            raise RuntimeError("Refusing to start: " + "; ".join(problems))


def _local_secret(name: str, make) -> str:
    """A per-install secret kept in instance/ (never in the database, never committed)."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


class DevConfig(Config):
    """The embedded default: SQLite file, in-process jobs, offline agent, local secrets."""

    PRODUCTION = False
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    FORCE_HTTPS = _bool("FORCE_HTTPS", False)

    def __init__(self) -> None:
        import secrets

        from cryptography.fernet import Fernet

        if self.SECRET_KEY == DEV_SECRET_KEY:
            self.SECRET_KEY = _local_secret("secret_key", lambda: secrets.token_urlsafe(48))
        if not self.TOKEN_ENCRYPTION_KEYS:
            self.TOKEN_ENCRYPTION_KEYS = _local_secret(
                "token_keys", lambda: Fernet.generate_key().decode()
            )


class TestConfig(Config):
    """pytest: DATABASE_URL/REDIS_URL from the environment (CI sets PostgreSQL + Redis)."""

    PRODUCTION = False
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production-use"
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", "sqlite:///" + str(INSTANCE_DIR / "test.db"))
    TOKEN_ENCRYPTION_KEYS = "5Q8l0yVw4cYgqkFJt9m0x9nqL1k4m2s3yN4HqC2Jr9E="
    # Deliberately cheap hashing so the suite's many logins stay fast (never in production).
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    SESSION_COOKIE_SECURE = False
    FORCE_HTTPS = False
    AUTH_RATE_LIMITED = False
    RATELIMIT_ENABLED = False
    WTF_CSRF_ENABLED = True
    META_APP_SECRET = "test_app_secret"
    JOB_TIMEOUT = int(_env("JOB_TIMEOUT", "120"))
    META_VERIFY_TOKEN = "test_verify_token"
    RAZORPAY_WEBHOOK_SECRET = "test_webhook_secret"
    GRAPH_API_BASE = _env("GRAPH_API_BASE", "http://graph.test/v25.0") or ""
    META_DIALOG_BASE = "http://facebook.test/v25.0"
    INSTAGRAM_API_BASE = "http://graph.instagram.test/v25.0"
    INSTAGRAM_LOGIN_BASE = "http://instagram.test"
    INSTAGRAM_TOKEN_BASE = "http://api.instagram.test"
    RAZORPAY_API_BASE = "http://razorpay.test"
    GROQ_BASE_URL = "http://groq.test"
    GROQ_API_KEY = None
    REPLY_DEBOUNCE_SECONDS = float(_env("REPLY_DEBOUNCE_SECONDS", "0"))  # a worker test sets it


ENVIRONMENTS = {"production": Config, "development": DevConfig, "testing": TestConfig}


def config_from_env():
    """The config class CLOSER_ENV names (any case); unset means development.

    Anything else refuses to start: a misspelt `production` must not quietly run as
    development, with its generated secrets and test-mode payments.
    """
    raw = _env("CLOSER_ENV")
    name = (raw or "development").strip().lower()
    if name not in ENVIRONMENTS:
        raise RuntimeError(f"Refusing to start: CLOSER_ENV={raw!r} is not one of "
                           f"{', '.join(ENVIRONMENTS)}")
    return ENVIRONMENTS[name]
