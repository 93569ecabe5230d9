"""The follow-up jobs as the commands run them: the same functions the Celery tasks call, one step each.

``plan`` is ``followups.planner.plan_all()`` (``plan_touches_task``), ``dispatch`` is
``followups.dispatcher.dispatch_due()`` (``dispatch_touches_task``) and ``complaints`` is
``followups.complaints.complaint_deadlines_check()`` (``complaint_deadlines_task``). A step whose function is
not there (a checkout without it) is reported as not available instead of failing the command; a step that
fails is reported with its error and does not stop the steps after it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealercrm.core.audit import as_task_actor


@dataclass(frozen=True)
class Step:
    name: str
    label: object  # lazy text
    module: str
    function: str
    task: str

    def resolve(self) -> Callable[[], object] | None:
        """The step's function, or None when this checkout does not have it."""
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name and (self.module == exc.name or self.module.startswith(exc.name + ".")):
                return None
            raise  # the module is there but something it imports is not: a real error
        return getattr(module, self.function, None)


PLAN = Step("plan", gettext_lazy("plan touches"), "followups.planner", "plan_all", "followups.tasks.plan_touches_task")
DISPATCH = Step(
    "dispatch",
    gettext_lazy("send due touches"),
    "followups.dispatcher",
    "dispatch_due",
    "followups.tasks.dispatch_touches_task",
)
COMPLAINTS = Step(
    "complaints",
    gettext_lazy("complaint deadlines"),
    "followups.complaints",
    "complaint_deadlines_check",
    "followups.tasks.complaint_deadlines_task",
)
ALL_STEPS = (PLAN, DISPATCH, COMPLAINTS)


@dataclass
class StepResult:
    step: Step
    status: str  # "ok", "unavailable", "failed"
    result: object = None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run_step(step: Step, *, actor: str) -> StepResult:
    """Run ``step`` as the system named ``actor`` (e.g. ``manage.py run_followups``) in the audit."""
    function = step.resolve()
    if function is None:
        return StepResult(step, "unavailable")
    started = time.monotonic()
    try:
        with as_task_actor(actor):
            result = function()
    except Exception as exc:
        return StepResult(step, "failed", error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)
    return StepResult(step, "ok", result=result, seconds=time.monotonic() - started)


#: figures of a step's answer that say nothing about the work done
_BOOKKEEPING = {"stores", "seconds"}


def did_something(result: object) -> bool:
    """Whether a step's answer counts any work (a touch planned, claimed, sent, a complaint escalated…)."""
    if isinstance(result, dict):
        return any(did_something(value) for key, value in result.items() if key not in _BOOKKEEPING)
    if isinstance(result, bool):
        return result
    if isinstance(result, int | float):
        return result != 0
    return result is not None


def _figures(result: object) -> str:
    if isinstance(result, dict):
        parts = []
        for key, value in result.items():
            if key == "seconds":
                continue
            if isinstance(value, dict):
                inner = ", ".join(f"{k} {v}" for k, v in value.items() if v)
                parts.append(f"{key} ({inner})" if inner else f"{key} 0")
            else:
                parts.append(f"{key} {value}")
        return ", ".join(parts) or "—"
    if result is None:
        return "—"
    return str(result)


def describe(outcome: StepResult) -> str:
    """One line for the command's output."""
    if outcome.status == "unavailable":
        return _("%(step)s: not available in this checkout (%(module)s.%(function)s is missing)") % {
            "step": outcome.step.label,
            "module": outcome.step.module,
            "function": outcome.step.function,
        }
    if outcome.status == "failed":
        return _("%(step)s: failed after %(seconds).1f s: %(error)s") % {
            "step": outcome.step.label,
            "seconds": outcome.seconds,
            "error": outcome.error,
        }
    return _("%(step)s: %(figures)s (%(seconds).2f s)") % {
        "step": outcome.step.label,
        "figures": _figures(outcome.result),
        "seconds": outcome.seconds,
    }
