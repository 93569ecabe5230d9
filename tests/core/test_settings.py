"""Settings: the demo needs no environment; DATABASE_URL / REDIS_URL switch to the servers;
production refuses to start without its secrets and passes Django's deploy check.

Each case imports the settings in a fresh interpreter with a clean environment
(only PATH and HOME), because settings are read once per process.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

PRINT_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
from dealercrm.celery import app
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "db_name": str(db["NAME"]),
    "db_host": db.get("HOST", ""),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION", ""),
    "broker": app.conf.broker_url,
    "result_backend": app.conf.result_backend,
    "eager": app.conf.task_always_eager,
    "debug": settings.DEBUG,
    "time_zone": settings.TIME_ZONE,
}))
"""


def run(args: list[str], settings_module: str, **env: str) -> subprocess.CompletedProcess:
    """``python <args>`` in the project root with only PATH, HOME and the given variables set."""
    clean_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "DJANGO_SETTINGS_MODULE": settings_module,
        **env,
    }
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean_env, capture_output=True, text=True, timeout=120)


def run_python(code: str, settings_module: str, **env: str) -> subprocess.CompletedProcess:
    return run(["-c", code], settings_module, **env)


def settings_values(settings_module: str = "dealercrm.settings.local", **env: str) -> dict:
    result = run_python(PRINT_SETTINGS, settings_module, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def production_env(**overrides: str) -> dict[str, str]:
    """Values like a real deployment's (nothing here is contacted)."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "crm.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
        "DATABASE_URL": "postgres://dealercrm:s3cret-Pa55@db.example.com:5432/dealercrm",
        "REDIS_URL": "redis://redis.example.com:6379/0",
        "PHONE_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        "PHONE_HASH_KEY": secrets.token_urlsafe(48),
        **overrides,
    }


def manage(*args: str, settings_module: str, **env: str) -> subprocess.CompletedProcess:
    return run(["manage.py", *args], settings_module, **env)


def test_demo_settings_need_no_environment():
    # Given no environment at all (what `make demo` gets on a fresh machine)
    # When the local settings load
    values = settings_values()

    # Then the demo runs on SQLite beside manage.py, with an in-process cache and Celery eager
    assert values["engine"] == "django.db.backends.sqlite3"
    assert Path(values["db_name"]) == ROOT / "db.sqlite3"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["eager"] is True
    assert values["broker"].startswith("memory://")
    assert values["debug"] is True


def test_database_url_switches_to_postgresql():
    # Given DATABASE_URL names a PostgreSQL server
    values = settings_values(DATABASE_URL="postgres://crm:pw@db.internal:5433/crm_main")

    # Then Django uses it
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "crm_main"
    assert values["db_host"] == "db.internal"
    # and Celery, with no REDIS_URL, still runs tasks in-process
    assert values["eager"] is True


def test_redis_url_switches_broker_results_and_cache_to_redis():
    # Given REDIS_URL names a Redis server
    url = "redis://redis.internal:6379/3"
    values = settings_values(REDIS_URL=url)

    # Then tasks go through Redis to a worker, results come back through it, and the cache lives there
    assert values["broker"] == url
    assert values["result_backend"] == url
    assert values["eager"] is False
    assert values["cache"] == "django_redis.cache.RedisCache"
    assert values["cache_location"] == url


def test_malformed_database_url_fails_loudly():
    # Given a DATABASE_URL with a scheme nobody knows
    result = run_python(PRINT_SETTINGS, "dealercrm.settings.local", DATABASE_URL="mysqlx://x@y/z")

    # Then the settings refuse to load instead of silently falling back to SQLite
    assert result.returncode != 0
    assert "mysqlx" in result.stderr


def test_production_refuses_to_start_without_secret_key():
    # Given production settings with everything but the secret key
    env = production_env()
    del env["DJANGO_SECRET_KEY"]

    # When Django starts
    result = run_python(PRINT_SETTINGS, "dealercrm.settings.production", **env)

    # Then it stops with an error naming the missing variable
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without_hosts_or_database(missing):
    env = production_env()
    del env[missing]

    result = run_python(PRINT_SETTINGS, "dealercrm.settings.production", **env)

    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("PHONE_ENCRYPTION_KEYS", None, "PHONE_ENCRYPTION_KEYS is not set"),
        ("PHONE_ENCRYPTION_KEYS", "not-a-fernet-key", "PHONE_ENCRYPTION_KEYS: key 1 of 1 is not a Fernet key"),
        ("PHONE_HASH_KEY", None, "PHONE_HASH_KEY is not set"),
        ("PHONE_HASH_KEY", "short", "PHONE_HASH_KEY is too short"),
    ],
)
def test_production_refuses_to_start_without_well_formed_phone_keys(setting, value, says):
    # Given production settings whose phone keys are missing or malformed
    env = production_env()
    if value is None:
        del env[setting]
    else:
        env[setting] = value

    # When Django starts (any command: here the system checks)
    result = manage("check", settings_module="dealercrm.settings.production", **env)

    # Then it stops with a message naming the setting, before anything is served
    assert result.returncode != 0
    assert says in result.stderr


def test_production_settings_pass_the_deploy_check():
    # Given production settings with real-looking values
    # When Django's deployment checklist runs, failing on any warning
    env = production_env()
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", settings_module="dealercrm.settings.production", **env
    )

    # Then nothing is reported
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_deploy_check_catches_a_weak_secret_key():
    # Given a short, guessable key (negative control: the check above can fail)
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        settings_module="dealercrm.settings.production",
        **production_env(DJANGO_SECRET_KEY="short"),
    )

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_language_and_time_zone():
    # The stores are in China: Shanghai time, Simplified Chinese beside English
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
    assert {code for code, _name in settings.LANGUAGES} == {"en", "zh-hans"}
    assert settings_values()["time_zone"] == "Asia/Shanghai"


def test_test_settings_run_celery_eagerly():
    from dealercrm.celery import app

    assert app.conf.task_always_eager is True
    assert app.conf.task_eager_propagates is True
    assert app.conf.task_serializer == "json"
