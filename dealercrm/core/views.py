"""Page plumbing: the current dealership and the role table for class-based views."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from .exceptions import ApplicationError
from .forms import add_service_error
from .roles import can
from .tenancy import SESSION_KEY, user_dealerships


def refusal_status(exc: Exception) -> int:
    """The status of a page showing a service's refusal on its form: a state conflict (``StateConflict``, or
    any refusal whose ``status`` is not 400) answers that status, 409, as the API does; a refused value is
    shown with 200, like any form Django finds invalid."""
    status = getattr(exc, "status", 400)
    return 200 if status == 400 else status


def refused(request, exc: Exception, *, back: str):
    """A page action's refusal (a POST that would otherwise redirect): a state conflict answers 409, as the
    API does, with a page that says what changed meanwhile and leads back to ``back``; any other refusal goes
    back to ``back`` with the reason as a message."""
    status = refusal_status(exc)
    message = getattr(exc, "message", None) or " ".join(getattr(exc, "messages", [str(exc)]))
    if status != 200:
        return TemplateResponse(request, "refused.html", {"message": message, "back": back}, status=status)
    messages.error(request, message)
    return redirect(back)


class DealershipMixin(LoginRequiredMixin):
    """Logged in, working in a dealership, and allowed ``action`` by the role table.

    ``action`` names the role-table action (``dealercrm.core.roles.PERMISSIONS``) the page needs, or maps
    HTTP methods to actions when reading and writing differ: ``{"GET": "segmentation.view", "*":
    "segmentation.manage"}`` ("*" is every other method). A page every member of the dealership may open
    declares ``"customer.view"`` (every role has it). Every page declares one: ``tests/core/test_access.py``
    fails for a page that does not.

    ``self.dealership`` is the current dealership; selectors take it, so a
    record of another store is simply not found (404).
    """

    action: str | dict[str, str] | None = None

    @classmethod
    def action_for(cls, method: str) -> str | None:
        """The role-table action a request with ``method`` needs (None: nothing declared)."""
        if isinstance(cls.action, dict):
            return cls.action.get(method.upper(), cls.action.get("*"))
        return cls.action

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        dealership = request.dealership  # may raise Http404 for a foreign ?dealership=
        if not dealership:
            raise PermissionDenied(_("Your account belongs to no dealership yet. Ask an administrator."))
        action = self.action_for(request.method)
        if action and not can(request.user, action):
            raise PermissionDenied(_("Your role may not do this."))
        self.dealership = dealership
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["dealership"] = self.dealership
        return context


class ServiceFormView(DealershipMixin, FormView):
    """A crispy form page whose ``form_valid`` only calls a service (``perform``); a refusal lands on the form.

    An app's subclass names its template, its ``action``, the record the page is about (``page_context``)
    and where Cancel and success lead.
    """

    form_id = ""
    title = ""
    submit_label = gettext_lazy("Save")
    success_message = ""

    def page_context(self) -> dict:
        return {}

    def get_cancel_url(self) -> str:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            self.page_context(),
            form_id=self.form_id,
            title=self.title,
            submit_label=self.submit_label,
            cancel_url=self.get_cancel_url(),
        )
        return context

    def show_error(self, form, exc: Exception) -> None:
        add_service_error(form, exc)

    def form_valid(self, form):
        try:
            self.result = self.perform(form)
        except (ValidationError, ApplicationError) as exc:
            self.show_error(form, exc)
            return self.form_invalid(form, status=refusal_status(exc))
        if self.success_message:
            messages.success(self.request, self.success_message)
        return redirect(self.get_success_url())

    def form_invalid(self, form, status: int = 200):
        response = super().form_invalid(form)
        response.status_code = status
        return response

    def perform(self, form):
        raise NotImplementedError


def confirmed(request) -> bool:
    """An action that cannot be undone is posted twice: first it answers its confirmation step
    (``confirm_step``), which posts the same fields again with ``confirmed=yes``. No script is needed."""
    return request.POST.get("confirmed") == "yes"


def confirm_step(*, title, lines, button, action, cancel, fields=(), danger=False, name="") -> dict:
    """What ``templates/includes/confirm_step.html`` shows: what the action will do, a button that does it
    (the same POST with ``confirmed=yes``) and a way back."""
    return {
        "name": name,
        "title": title,
        "lines": lines,
        "button": button,
        "action": action,
        "cancel": cancel,
        "danger": danger,
        "fields": list(fields),
    }


class SwitchDealershipView(DealershipMixin, View):
    """The header switcher: remember the chosen store in the session (any member of a dealership)."""

    action = "customer.view"

    def post(self, request):
        dealership = user_dealerships(request.user).filter(code=request.POST.get("dealership", "")).first()
        if dealership is None:
            messages.error(request, _("You do not belong to that dealership."))
        else:
            request.session[SESSION_KEY] = dealership.pk
            messages.success(request, _("Now working in %(name)s.") % {"name": dealership.name})
        target = request.POST.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "/"
        # Drop an explicit ?dealership= so that the new choice takes effect.
        return redirect(target.split("?")[0])
