"""docker-compose.yml and the Dockerfile, checked without Docker (no engine runs here).

The compose file is parsed and every command it runs is resolved against the
code: the modules, the Celery app, the beat scheduler and the settings module
exist, and each service's environment (with ``${...}`` filled in as compose
would) is enough for the production settings to load.
"""

import ast
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat"]

# What an operator exports before `docker compose up`.
OPERATOR_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "POSTGRES_PASSWORD": "Str0ng-db-pa55",
    "SITE_URL": "https://crm.example.com",
    "PHONE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "PHONE_HASH_KEY": secrets.token_urlsafe(48),
}

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``$$``."""

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        present = name in env
        value = env.get(name, "")
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if present else arg
        if op in (":?", "?"):
            if (op == ":?" and not value) or not present:
                raise MissingVariable(f"{name}: {arg}")
            return value
        return value

    return _VAR.sub(replace, value)


def service_env(name: str, env: dict[str, str] = OPERATOR_ENV) -> dict[str, str]:
    environment = SERVICES[name].get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: interpolate(str(value), env) for key, value in environment.items()}


def service_command(name: str) -> list[str]:
    command = SERVICES[name]["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def option(command: list[str], *names: str) -> str:
    """The value of ``-A x``, ``--scheduler x`` or ``--scheduler=x`` in a command line."""
    for i, part in enumerate(command):
        for name in names:
            if part == name:
                return command[i + 1]
            if part.startswith(name + "="):
                return part.split("=", 1)[1]
    raise AssertionError(f"{names} not in {command}")


def run_with_env(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Python in a fresh interpreter with exactly ``env`` (plus PATH/HOME), as in the container."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def required_settings_variables() -> set[str]:
    """Variables the production settings read without a default: they fail to start without them."""
    required = set()
    for module in ("base.py", "production.py"):
        tree = ast.parse((ROOT / "dealercrm" / "settings" / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            is_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
            )
            if not is_env or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            if isinstance(func, ast.Attribute) and func.attr in {"read_env"}:
                continue
            if not any(keyword.arg == "default" for keyword in node.keywords):
                required.add(node.args[0].value)
    return required


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile(keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile_instructions() if kw == keyword]


# --- The compose file -------------------------------------------------------------------------------


def test_the_five_services_are_there():
    assert {"db", "redis", "web", "worker", "beat"} <= set(SERVICES)


def test_images_are_postgresql_15_and_redis_7():
    assert SERVICES["db"]["image"].startswith("postgres:15")
    assert SERVICES["redis"]["image"].startswith("redis:7")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_the_project_image_with_production_settings(name):
    assert SERVICES[name]["build"] == "."
    env = service_env(name)
    assert env["DJANGO_SETTINGS_MODULE"] == "dealercrm.settings.production"


def test_settings_really_require_what_the_compose_file_must_provide():
    # Negative control for the check below: the settings parser finds the required variables
    assert {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"} <= required_settings_variables()


@pytest.mark.parametrize("name", [*APP_SERVICES, "migrate"])
def test_every_variable_production_requires_is_provided(name):
    env = service_env(name)

    missing = sorted(required_settings_variables() - set(env))

    assert missing == []
    assert all(env[key] for key in required_settings_variables()), "empty required value"


def test_app_services_share_one_environment():
    # A worker must never talk to another database or broker than the web server
    environments = [service_env(name) for name in [*APP_SERVICES, "migrate"]]
    assert all(env == environments[0] for env in environments)


def test_database_and_redis_urls_point_at_the_compose_services():
    env = service_env("web")
    db = urlparse(env["DATABASE_URL"])
    db_env = service_env("db")
    assert db.scheme in {"postgres", "postgresql"}
    assert db.hostname == "db"
    assert db.username == db_env["POSTGRES_USER"]
    assert db.password == db_env["POSTGRES_PASSWORD"] == OPERATOR_ENV["POSTGRES_PASSWORD"]
    assert db.path.lstrip("/") == db_env["POSTGRES_DB"]
    redis = urlparse(env["REDIS_URL"])
    assert redis.scheme == "redis"
    assert redis.hostname == "redis"


def test_no_secret_key_is_shipped():
    # Without DJANGO_SECRET_KEY in the operator's environment, compose refuses to start
    without_key = {k: v for k, v in OPERATOR_ENV.items() if k != "DJANGO_SECRET_KEY"}
    with pytest.raises(MissingVariable, match="DJANGO_SECRET_KEY"):
        service_env("web", without_key)


def test_web_runs_gunicorn_on_the_wsgi_application():
    command = service_command("web")
    assert command[0] == "gunicorn"
    assert "dealercrm.wsgi:application" in command


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_services_name_the_project_app(name):
    command = service_command(name)
    assert command[0] == "celery"
    assert option(command, "-A", "--app") == "dealercrm"
    assert command[command.index("dealercrm") + 1] == {"worker": "worker", "beat": "beat"}[name]


def test_beat_uses_the_database_scheduler():
    assert option(service_command("beat"), "-S", "--scheduler") == "django_celery_beat.schedulers:DatabaseScheduler"


def test_web_command_resolves_with_its_environment():
    # Given the web service's environment, as compose fills it in
    module, attribute = next(p for p in service_command("web") if ":" in p and not p.startswith("-")).split(":")
    code = f"""
import importlib, json, django
from django.core.management import call_command
module = importlib.import_module({module!r})
application = getattr(module, {attribute!r})
call_command("check", "--deploy", fail_level="WARNING")
print(json.dumps({{"callable": callable(application)}}))
"""
    # When the WSGI module is imported there and Django's deploy check runs
    result = run_with_env(code, service_env("web"))

    # Then the application exists and production settings pass the check
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"callable": True}


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_commands_resolve_with_their_environment(name):
    command = service_command(name)
    app_name = option(command, "-A", "--app")
    scheduler = option(command, "-S", "--scheduler") if name == "beat" else "celery.beat:PersistentScheduler"
    code = f"""
import json
from celery.app.utils import find_app
from celery.beat import Scheduler
from celery.utils.imports import symbol_by_name
app = find_app({app_name!r})
app.loader.import_default_modules()
scheduler = symbol_by_name({scheduler!r})
print(json.dumps({{
    "main": app.main,
    "scheduler_ok": issubclass(scheduler, Scheduler),
    "beat_tasks_missing": sorted({{e["task"] for e in app.conf.beat_schedule.values()}} - set(app.tasks)),
    "broker": app.conf.broker_url,
    "eager": app.conf.task_always_eager,
}}))
"""
    result = run_with_env(code, service_env(name))

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["main"] == "dealercrm"
    assert found["scheduler_ok"] is True
    assert found["beat_tasks_missing"] == []
    # tasks go through the compose Redis, not in-process
    assert found["broker"] == service_env(name)["REDIS_URL"]
    assert found["eager"] is False


def test_celery_app_module_is_where_the_command_looks():
    from dealercrm import celery_app
    from dealercrm.celery import app

    assert celery_app is app


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker"])
def test_long_running_services_have_healthchecks(name):
    assert SERVICES[name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_migrations_and_redis(name):
    depends = SERVICES[name]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["redis"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert service_command("migrate")[-3:] == ["manage.py", "migrate", "--noinput"]


def test_data_lives_in_named_volumes():
    volumes = set(COMPOSE["volumes"])
    assert any(v.split(":")[0] in volumes and v.endswith("/var/lib/postgresql/data") for v in SERVICES["db"]["volumes"])
    assert any(v.split(":")[0] in volumes for v in SERVICES["redis"]["volumes"])
    assert "media:/app/media" in SERVICES["web"]["volumes"]


# --- The Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_base_image_and_system_packages():
    assert dockerfile("FROM") == ["python:3.11-slim"]
    assert any("gettext" in run for run in dockerfile("RUN"))
    assert any("pip install -r requirements.txt" in run for run in dockerfile("RUN"))


def test_dockerfile_builds_static_files_and_catalogue():
    runs = " ".join(dockerfile("RUN"))
    assert "manage.py collectstatic --noinput" in runs
    assert "manage.py compilemessages" in runs


def test_dockerfile_runs_as_a_non_root_user():
    users = dockerfile("USER")
    assert users
    assert users[-1] not in {"root", "0"}


def test_dockerfile_cmd_is_the_web_command():
    (cmd,) = dockerfile("CMD")
    argv = json.loads(cmd)
    assert argv[:2] == ["gunicorn", "dealercrm.wsgi:application"]
    assert service_command("web")[:2] == argv[:2]
    assert dockerfile("EXPOSE") == ["8000"]
    assert any(part.endswith(":8000") for part in argv)


def test_dockerfile_settings_module_exists():
    import importlib.util

    (env_line,) = [e for e in dockerfile("ENV") if e.startswith("DJANGO_SETTINGS_MODULE=")]
    module = env_line.split("=", 1)[1]
    assert module == service_env("web")["DJANGO_SETTINGS_MODULE"]
    assert importlib.util.find_spec(module) is not None


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", ".env", "*.sqlite3", "staticfiles", "media"} <= ignored


def test_dockerfile_static_build_succeeds_with_production_storage(tmp_path):
    # Given the environment the Dockerfile's collectstatic step runs with
    (run,) = [r for r in dockerfile("RUN") if "collectstatic" in r]
    words = shlex.split(run)
    build_env = dict(word.split("=", 1) for word in words[: next(i for i, w in enumerate(words) if "=" not in w)])
    assert build_env["DJANGO_SETTINGS_MODULE"] == "dealercrm.settings.production"

    # When the static files are collected into a fresh directory with the production (manifest) storage
    code = f"""
import django
from django.conf import settings
django.setup()
settings.STATIC_ROOT = {str(tmp_path)!r}
from django.core.management import call_command
call_command("collectstatic", "--noinput", verbosity=0)
"""
    result = run_with_env(code, build_env)

    # Then every file a stylesheet refers to exists, or the image build (and production) would break
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").exists()


# --- The follow-ups' worker and beat (issue 11) ------------------------------------------------------

FOLLOWUP_JOBS = {
    "followups-plan": "followups.tasks.plan_touches_task",
    "followups-dispatch": "followups.tasks.dispatch_touches_task",
    "followups-complaint-deadlines": "followups.tasks.complaint_deadlines_task",
}


def test_the_worker_consumes_every_queue_the_follow_up_jobs_are_sent_to():
    # Given the queue each follow-up job is routed to (Celery's default queue unless a route says otherwise)
    from dealercrm.celery import app

    routed = set()
    for task in FOLLOWUP_JOBS.values():
        route = app.amqp.router.route({}, task)
        routed.add(route["queue"].name)
    command = service_command("worker")

    # When the worker's command names its queues (-Q), or names none and so consumes the default queue
    queues = set(option(command, "-Q", "--queues").split(",")) if {"-Q", "--queues"} & set(command) else {"celery"}

    # Then nothing the beat sends waits in a queue that no worker reads
    assert routed <= queues


def test_the_worker_and_beat_do_not_run_tasks_in_process():
    # An eager setting in the services' environment would make beat run the jobs itself, unacknowledged
    for name in ("worker", "beat"):
        env = service_env(name)
        assert env.get("CELERY_TASK_ALWAYS_EAGER", "false").lower() in {"false", "0", "no", "off"}
        assert env["REDIS_URL"]


@pytest.mark.django_db(transaction=True)  # the scheduler closes a connection it finds inside a transaction
def test_the_beat_installs_the_follow_up_jobs_from_settings_into_the_database_schedule(settings):
    # Given the database scheduler the compose beat runs, on an empty schedule table
    from celery.utils.imports import symbol_by_name
    from django_celery_beat.models import PeriodicTask

    from dealercrm.celery import app

    scheduler_class = symbol_by_name(option(service_command("beat"), "-S", "--scheduler"))
    assert not PeriodicTask.objects.filter(name__in=FOLLOWUP_JOBS).exists()

    # When beat starts and sets up its schedule
    scheduler_class(app=app, lazy=False)

    # Then the follow-up jobs are in the database with the intervals the settings declare, enabled
    installed = {task.name: task for task in PeriodicTask.objects.filter(name__in=FOLLOWUP_JOBS)}
    assert {name: task.task for name, task in installed.items()} == FOLLOWUP_JOBS
    assert all(task.enabled for task in installed.values())
    plan = installed["followups-plan"].interval
    every = {
        name: settings.CELERY_BEAT_SCHEDULE[name]["schedule"].run_every.total_seconds()
        for name in ("followups-plan", "followups-dispatch")
    }
    assert (plan.every, plan.period) == (every["followups-plan"], "seconds")
    dispatch = installed["followups-dispatch"].interval
    assert (dispatch.every, dispatch.period) == (every["followups-dispatch"], "seconds")
    assert installed["followups-complaint-deadlines"].crontab.minute == "*/15"


def _followup_settings_read_from_the_environment() -> dict[str, object]:
    """The follow-up variables base.py reads (env("FOLLOWUPS_…"), SMS_…, WECHAT_…, SITE_URL) and their defaults."""
    found = {}
    tree = ast.parse((ROOT / "dealercrm" / "settings" / "base.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            continue
        func = node.func
        is_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
        )
        name = node.args[0].value
        if is_env and isinstance(name, str) and name.startswith(("FOLLOWUPS_", "SMS_", "WECHAT_", "SITE_URL")):
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            found[name] = default.value if isinstance(default, ast.Constant) else None
    return found


def test_every_follow_up_setting_reaches_the_worker_and_beat_with_the_settings_default():
    # Given the follow-up settings read from the environment (the demo's loop interval aside: no loop runs here)
    wanted = {
        k: v for k, v in _followup_settings_read_from_the_environment().items() if k != "FOLLOWUPS_RUN_EVERY_SECONDS"
    }
    assert {"FOLLOWUPS_PLAN_EVERY_SECONDS", "FOLLOWUPS_SMS_BACKEND", "SMS_WEBHOOK_SECRET", "SITE_URL"} <= set(wanted)

    for name in ("worker", "beat", "web"):
        env = service_env(name)
        # Then an operator can set each of them for the containers
        assert sorted(set(wanted) - set(env)) == [], name
        # and one left unset gets the settings' own default (compose would otherwise pass an empty string)
        for key, default in wanted.items():
            if key != "SITE_URL" and default is not None:
                assert env[key] == str(default), key


def test_links_in_texts_need_the_sites_address():
    # A survey link to localhost would reach nobody: compose refuses to start without SITE_URL
    without = {k: v for k, v in OPERATOR_ENV.items() if k != "SITE_URL"}
    with pytest.raises(MissingVariable, match="SITE_URL"):
        service_env("worker", without)
