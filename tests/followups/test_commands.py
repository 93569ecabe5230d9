"""The follow-up commands: plan_touches, dispatch_touches and run_followups (the demo's worker and beat).

They run the functions the Celery tasks call, as the system named by the command in the audit; a round run
twice plans and sends nothing twice; the loop stops on SIGTERM.
"""

import os
import signal
import threading
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from dealercrm.core.audit import current_actor
from followups.management.commands import _steps
from followups.models import Complaint, Message, Touch
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory
from tests.followups.factories_complaints import complaint_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a Wednesday at 10:30 in Shenzhen: inside the default sending hours
WEDNESDAY_1030 = datetime(2026, 3, 11, 10, 30, tzinfo=SHANGHAI)

SEEN_ACTORS = []


def probe():
    """A step function that notes who the audit would name for its writes."""
    SEEN_ACTORS.append(current_actor())
    return {"probed": 1}


def fails():
    raise RuntimeError("the provider is down")


def run(name, *args):
    out, err = StringIO(), StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{out.getvalue()}{err.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


def have(module, function):
    try:
        return _steps.Step("x", "x", module, function, "").resolve() is not None
    except ImportError:
        return False


needs_planner = pytest.mark.skipif(
    not (have("followups.planner", "plan_all") and have("followups.dispatcher", "dispatch_due")),
    reason="followups.planner.plan_all or followups.dispatcher.dispatch_due not in this checkout yet",
)


# --- the steps ----------------------------------------------------------------------------------------------


def test_the_steps_are_the_functions_the_celery_tasks_call():
    # The commands and the beat's tasks must run the same code: each task names its step's module and function
    import inspect

    from followups import tasks

    for step in _steps.ALL_STEPS:
        task = {
            "followups.tasks.plan_touches_task": tasks.plan_touches_task,
            "followups.tasks.dispatch_touches_task": tasks.dispatch_touches_task,
            "followups.tasks.complaint_deadlines_task": tasks.complaint_deadlines_task,
        }[step.task]
        source = inspect.getsource(task.run)
        assert f"{step.module.rsplit('.', 1)[1]}.{step.function}()" in source


def test_a_step_names_the_command_that_ran_it_as_the_acting_system():
    # Given a step whose function notes the acting user
    SEEN_ACTORS.clear()
    step = _steps.Step("probe", "probe", __name__, "probe", "")

    # When it runs as the command runs it
    outcome = _steps.run_step(step, actor="manage.py run_followups")

    # Then its writes would be recorded as the system, named by the command
    assert outcome.ok and outcome.result == {"probed": 1}
    (actor,) = SEEN_ACTORS
    assert actor.user is None and actor.reason == "system: manage.py run_followups"
    assert current_actor() is None  # and nothing leaks out of the step


def test_a_step_that_is_not_in_the_checkout_is_reported_not_available():
    step = _steps.Step("later", "later", "followups.not_written_yet", "plan_all", "")

    outcome = _steps.run_step(step, actor="manage.py run_followups")

    assert outcome.status == "unavailable"
    assert "not available" in _steps.describe(outcome)


def test_a_module_that_is_there_but_broken_is_not_taken_for_missing(tmp_path, monkeypatch):
    # A module whose own import fails is a real error, not "not written yet"
    (tmp_path / "broken_step_module.py").write_text("import no_such_dependency_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    step = _steps.Step("broken", "broken", "broken_step_module", "run", "")

    with pytest.raises(ModuleNotFoundError):
        step.resolve()


def test_a_failing_step_is_reported_with_its_error_and_the_next_step_still_runs():
    SEEN_ACTORS.clear()
    failing = _steps.Step("fails", "fails", __name__, "fails", "")
    probing = _steps.Step("probe", "probe", __name__, "probe", "")

    outcomes = [_steps.run_step(step, actor="manage.py run_followups") for step in (failing, probing)]

    assert [o.status for o in outcomes] == ["failed", "ok"]
    assert "the provider is down" in _steps.describe(outcomes[0])
    assert len(SEEN_ACTORS) == 1


# --- the commands on real records ---------------------------------------------------------------------------


def maintenance_visit(dealership, days_ago, now):
    customer = CustomerFactory(dealership=dealership, marketing_consent=True)
    vehicle = VehicleFactory(owner=customer)
    visit_day = (now - timedelta(days=days_ago)).astimezone(SHANGHAI).date()
    return ServiceVisitFactory(vehicle=vehicle, visit_type="maintenance", opened_on=visit_day, closed_on=visit_day)


def ledger(dealership):
    return {
        "touches": sorted(Touch.objects.filter(dealership=dealership).values_list("id", "status", "attempts")),
        "messages": Message.objects.filter(dealership=dealership).count(),
    }


@needs_planner
@pytest.mark.django_db(transaction=True)
def test_run_followups_once_plans_and_sends_and_a_second_round_changes_nothing(dealership, agent, advisor):
    # Given maintenance visits of the last month, on a Wednesday morning
    with time_machine.travel(WEDNESDAY_1030, tick=False):
        for days_ago in (1, 2, 7, 15, 30):
            maintenance_visit(dealership, days_ago, WEDNESDAY_1030)

        # When the loop runs one round
        out, err = run("run_followups", "--once")

        # Then touches were planned and the due texts sent through the database back end
        after_first = ledger(dealership)
        assert after_first["touches"], out + err
        assert after_first["messages"] > 0
        assert "not available" not in err
        sent = Touch.objects.filter(dealership=dealership, status__in=Touch.REACHED, channel="sms")
        assert sent.count() == after_first["messages"]

        # And a second round, at once, plans, sends and changes nothing
        run("run_followups", "--once")
        assert ledger(dealership) == after_first


@needs_planner
@pytest.mark.django_db(transaction=True)
def test_plan_touches_and_dispatch_touches_each_run_their_step_once(dealership, agent):
    with time_machine.travel(WEDNESDAY_1030, tick=False):
        maintenance_visit(dealership, 15, WEDNESDAY_1030)

        out, _err = run("plan_touches")
        planned = Touch.objects.filter(dealership=dealership)
        assert planned.exists() and not Message.objects.exists()
        assert "plan touches" in out

        run("dispatch_touches")
        assert Message.objects.filter(dealership=dealership).exists()

        before = ledger(dealership)
        run("plan_touches")
        run("dispatch_touches")
        assert ledger(dealership) == before


@pytest.mark.django_db
def test_run_followups_escalates_an_overdue_complaint_once(dealership, admin_user):
    # Given a complaint nobody answered within its first-response deadline
    complaint = complaint_of(dealership, now=WEDNESDAY_1030 - timedelta(days=5))

    # When the loop runs twice
    with time_machine.travel(WEDNESDAY_1030, tick=False):
        run("run_followups", "--once")
        run("run_followups", "--once")

    # Then it was escalated once, and the change is in its history
    complaint.refresh_from_db()
    assert complaint.escalated_at == WEDNESDAY_1030
    assert complaint.status == Complaint.Status.OPEN
    assert complaint.history.filter(escalated_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_run_followups_once_fails_loudly_when_a_step_fails(monkeypatch):
    # Given a step that fails (its function raising, as a provider outage would make it)
    failing = _steps.Step("fails", "fails", __name__, "fails", "")
    monkeypatch.setattr(_steps, "ALL_STEPS", (failing,))
    from followups.management.commands import run_followups

    monkeypatch.setattr(run_followups, "ALL_STEPS", (failing,))

    # Then --once exits with an error naming it (the loop itself goes on to its next round)
    with pytest.raises(CommandError, match="1 step"):
        run("run_followups", "--once")


@pytest.mark.django_db
def test_run_followups_loops_until_sigterm(monkeypatch):
    # Given the loop running every 0.2 s (steps that only note who ran them)
    SEEN_ACTORS.clear()
    probing = _steps.Step("probe", "probe", __name__, "probe", "")
    from followups.management.commands import run_followups

    monkeypatch.setattr(run_followups, "ALL_STEPS", (probing,))
    timer = threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGTERM))
    handler_before = signal.getsignal(signal.SIGTERM)

    # When SIGTERM arrives after a second
    timer.start()
    try:
        out, _err = run("run_followups", "--every", "0.2")
    finally:
        timer.cancel()

    # Then it ran several rounds, as the command, and stopped cleanly, restoring the signal handler
    assert 3 <= len(SEEN_ACTORS) <= 8
    assert {actor.reason for actor in SEEN_ACTORS} == {"system: manage.py run_followups"}
    assert "stopped" in out
    assert signal.getsignal(signal.SIGTERM) is handler_before


def test_every_must_be_positive():
    with pytest.raises(CommandError):
        run("run_followups", "--every", "0")


def test_the_loop_says_nothing_of_a_step_that_found_nothing_to_do():
    # The demo's terminal shows the server's log: a round that planned and sent nothing stays quiet
    assert not _steps.did_something({"stores": 1, "planned": {"day7": 0}, "cancelled": {}, "seconds": 0.4})
    assert not _steps.did_something({"claimed": 0})
    assert _steps.did_something({"stores": 1, "planned": {"day7": 2}, "seconds": 0.4})
    assert _steps.did_something({"claimed": 2, "sent": 2})
    assert _steps.did_something({"escalated": 1, "emails": 0})


def test_make_demo_runs_the_loop_beside_the_server_and_stops_it_with_the_server(tmp_path):
    # Given the demo's last recipe, as make would run it, with the server standing in for a second
    import re
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    lines = subprocess.run(
        ["make", "-n", "demo", "PORT=8765"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "manage.py run_followups" in line)
    recipe = "\n".join(lines[start:])
    assert "manage.py runserver 127.0.0.1:8765" in recipe and "--every 20" in recipe
    assert "SITE_URL=http://127.0.0.1:8765" in recipe  # links in the demo's texts lead to the demo
    pidfile = tmp_path / "loop.pid"
    loop = f"{sys.executable} -c \"import os, time; open('{pidfile}', 'w').write(str(os.getpid())); time.sleep(120)\""
    recipe = re.sub(r"env -u \S+ .*?manage\.py run_followups --every \d+", lambda _m: loop, recipe)
    recipe = re.sub(r"env -u \S+ .*?manage\.py runserver \S+", "sleep 2", recipe)

    # When the server stops
    started = time.monotonic()
    subprocess.run(["sh", "-c", recipe], cwd=root, timeout=60, check=False)

    # Then the loop, which was running beside it, is stopped too (and did not hold the recipe up)
    pid = int(pidfile.read_text())
    assert time.monotonic() - started < 30
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the follow-up loop outlived the server")


@pytest.mark.parametrize(
    ("command", "module", "function"),
    [("plan_touches", "followups.planner", "plan_all"), ("dispatch_touches", "followups.dispatcher", "dispatch_due")],
)
def test_each_single_step_command_names_itself_in_the_audit(command, module, function, monkeypatch):
    # Given the step's function standing in for one that notes the acting user
    import importlib

    SEEN_ACTORS.clear()
    monkeypatch.setattr(importlib.import_module(module), function, probe)

    # When the command runs it
    out, _err = run(command)

    # Then its writes would be recorded as the system named by the command
    assert [a.reason for a in SEEN_ACTORS] == [f"system: manage.py {command}"]
    assert "probed 1" in out
