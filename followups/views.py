"""The follow-up pages: the agent's follow-ups, the manager's overview, the touch list and a touch's history
(with "cancel this touch"), message templates and the store's follow-up settings.

Thin views: ``DealershipMixin`` checks the role (``action``) and the dealership; reads go through
``followups.selectors``, writes through ``followups.managing``."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.views import DealershipMixin, ServiceFormView, confirm_step, confirmed, refused

from . import managing, selectors
from .forms import FollowupPolicyForm, MessageTemplateForm, PeriodForm, TouchFilter
from .models import MessageTemplate, Touch

TOUCHES_PER_PAGE = 50
OVERVIEW = "followups.overview"
MANAGE = "followups.manage"


class MyFollowupsView(DealershipMixin, TemplateView):
    """The agent's follow-up calls: overdue, due later today, done today (worked in the workbench)."""

    action = "calls.work"
    template_name = "followups/mine.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(selectors.my_followups(dealership=self.dealership, user=self.request.user))
        return context


class OverviewView(DealershipMixin, TemplateView):
    """Due, overdue, done, failed, skipped and cancelled touches per kind and per agent over a period, the
    reasons of those that did not happen, and the open complaints with their deadlines."""

    action = OVERVIEW
    template_name = "followups/overview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = self.dealership.local_date()
        default = {"start": today - dt.timedelta(days=7), "end": today + dt.timedelta(days=7)}
        form = PeriodForm(self.request.GET if "start" in self.request.GET else None, initial=default)
        period = form.cleaned_data if form.is_bound and form.is_valid() else default
        context["form"] = form
        context["presets"] = [
            (_("Today"), today, today),
            (_("Last 7 days"), today - dt.timedelta(days=6), today),
            (_("Next 7 days"), today, today + dt.timedelta(days=6)),
            (_("Last 30 days"), today - dt.timedelta(days=29), today),
        ]
        context["overview"] = selectors.overview(dealership=self.dealership, start=period["start"], end=period["end"])
        context["complaints"] = selectors.complaints_open(dealership=self.dealership)
        context["now"] = timezone.now()
        return context


class TouchListView(DealershipMixin, TemplateView):
    action = OVERVIEW
    template_name = "followups/touch_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = selectors.touches(dealership=self.dealership).order_by("-due_at", "-id")
        filterset = TouchFilter(self.request.GET or None, queryset=queryset, dealership=self.dealership)
        rows = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
        page = Paginator(rows, TOUCHES_PER_PAGE).get_page(self.request.GET.get("page"))
        selectors.with_reason_words(page.object_list)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter=filterset,
            page_obj=page,
            touches=page.object_list,
            filtered=any(v for k, v in self.request.GET.items() if k != "page"),
            query=query.urlencode(),
        )
        return context


class TouchDetailView(DealershipMixin, TemplateView):
    action = OVERVIEW
    template_name = "followups/touch_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        touch = selectors.touch_get(dealership=self.dealership, pk=self.kwargs["pk"])
        selectors.with_reason_words([touch])
        context["touch"] = touch
        context.update(selectors.touch_history(touch=touch))
        return context


class TouchCancelView(DealershipMixin, View):
    """ "Cancel this touch": asks first (a confirmation step), then cancels it with the reason
    ``cancelled_by_user``; a touch no longer pending is refused (409)."""

    action = MANAGE

    def post(self, request, pk):
        touch = selectors.touch_get(dealership=self.dealership, pk=pk)
        back = reverse("followups:touch-detail", args=[touch.pk])
        if not touch.is_pending:
            return refused(request, _conflict(touch), back=back)
        if not confirmed(request):
            confirm = confirm_step(
                name="touch-cancel",
                title=_("Cancel this touch?"),
                lines=[
                    _("%(kind)s for %(customer)s, due %(due)s, will not happen.")
                    % {
                        "kind": touch.get_kind_display(),
                        "customer": touch.customer.name,
                        "due": timezone.localtime(touch.due_at, self.dealership.zone).strftime("%Y-%m-%d %H:%M"),
                    },
                    _("It is recorded as cancelled by you. This cannot be undone."),
                ],
                button=_("Cancel the touch"),
                action=reverse("followups:touch-cancel", args=[touch.pk]),
                cancel=back,
                danger=True,
            )
            return TemplateResponse(request, "followups/confirm.html", {"confirm": confirm, "touch": touch})
        try:
            managing.touch_cancel(touch=touch, acting_user=request.user)
        except ApplicationError as exc:
            return refused(request, exc, back=back)
        messages.success(request, _("The touch was cancelled."))
        return redirect(back)


def _conflict(touch: Touch) -> ApplicationError:
    from dealercrm.core.exceptions import StateConflict

    return StateConflict(
        _("This touch is no longer pending (now: %(status)s): there is nothing to cancel.")
        % {"status": touch.get_status_display()},
        code="touch_not_pending",
    )


# --- message templates -------------------------------------------------------------------------------------


class TemplateListView(DealershipMixin, TemplateView):
    action = MANAGE
    template_name = "followups/template_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["templates"] = list(selectors.message_templates(dealership=self.dealership))
        return context


class TemplateFormMixin:
    action = MANAGE
    template_name = "followups/template_form.html"
    form_class = MessageTemplateForm
    form_id = "message-template-form"

    def get_cancel_url(self):
        return reverse("followups:templates")

    def get_success_url(self):
        return reverse("followups:templates")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        from .messaging import VARIABLES

        context["variables"] = {str(kind): names for kind, names in VARIABLES.items()}
        context["kinds"] = dict(Touch.Kind.choices)
        return context


class TemplateCreateView(TemplateFormMixin, ServiceFormView):
    title = gettext_lazy("New message template")
    submit_label = gettext_lazy("Create template")
    success_message = gettext_lazy("Message template saved.")

    def perform(self, form):
        return managing.message_template_create(
            dealership=self.dealership, acting_user=self.request.user, **form.cleaned_data
        )


class TemplateUpdateView(TemplateFormMixin, ServiceFormView):
    title = gettext_lazy("Edit message template")
    submit_label = gettext_lazy("Save changes")
    success_message = gettext_lazy("Message template saved.")

    def get_template(self) -> MessageTemplate:
        if not hasattr(self, "_template"):
            self._template = selectors.message_template_get(dealership=self.dealership, pk=self.kwargs["pk"])
        return self._template

    def get_form_kwargs(self):
        from copy import copy

        return {**super().get_form_kwargs(), "instance": copy(self.get_template())}

    def page_context(self):
        return {"message_template": self.get_template()}

    def perform(self, form):
        return managing.message_template_update(
            template=self.get_template(), acting_user=self.request.user, **form.cleaned_data
        )


class TemplateDeleteView(DealershipMixin, View):
    action = MANAGE

    def post(self, request, pk):
        template = selectors.message_template_get(dealership=self.dealership, pk=pk)
        back = reverse("followups:templates")
        if not confirmed(request):
            confirm = confirm_step(
                name="template-delete",
                title=_("Delete this message template?"),
                lines=[
                    str(template),
                    _("Messages of this kind on this channel then use the built-in text."),
                ],
                button=_("Delete the template"),
                action=reverse("followups:template-delete", args=[template.pk]),
                cancel=back,
                danger=True,
            )
            return TemplateResponse(request, "followups/confirm.html", {"confirm": confirm})
        managing.message_template_delete(template=template, acting_user=request.user)
        messages.success(request, _("Message template deleted."))
        return redirect(back)


def sample_values(dealership) -> dict[str, str]:
    """What a template's variables look like in the preview."""
    today = dealership.local_date()
    return {
        "customer_name": _("Mr Wang"),
        "dealership_name": dealership.name,
        "plate": "粤B·D12345",
        "visit_date": (today - dt.timedelta(days=7)).isoformat(),
        "due_date": (today + dt.timedelta(days=14)).isoformat(),
        "campaign_name": _("Winter check-up"),
        "link": "https://crm.example.cn/s/…",
        "offer": _("¥100 labour coupon"),
        "coupon_code": "K7Q2M9XW",
        "coupon_expires": (today + dt.timedelta(days=30)).isoformat(),
    }


class TemplatePreviewView(DealershipMixin, View):
    """The text with sample values, and what the check finds (htmx from the template form; POST)."""

    action = MANAGE

    def post(self, request):
        from .messaging import fill

        data = request.POST
        errors = []
        try:
            managing.template_check(
                dealership=self.dealership,
                kind=data.get("kind", ""),
                channel=data.get("channel", ""),
                body=data.get("body", ""),
                subject=data.get("subject", ""),
            )
        except ValidationError as exc:
            errors = exc.messages
        values = sample_values(self.dealership)
        context = {
            "subject": fill(data.get("subject", ""), values),
            "body": fill(data.get("body", ""), values),
            "errors": errors,
        }
        return TemplateResponse(request, "followups/_template_preview.html", context)


# --- the store's settings ------------------------------------------------------------------------------------


class SettingsView(ServiceFormView):
    action = MANAGE
    template_name = "followups/settings.html"
    form_class = FollowupPolicyForm
    form_id = "followup-settings-form"
    title = gettext_lazy("Follow-up settings")
    submit_label = gettext_lazy("Save settings")
    success_message = gettext_lazy("Follow-up settings saved.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "policy": selectors.followup_policy(dealership=self.dealership)}

    def page_context(self):
        return {"policy": selectors.followup_policy(dealership=self.dealership)}

    def get_cancel_url(self):
        return reverse("followups:overview")

    def get_success_url(self):
        return reverse("followups:settings")

    def perform(self, form):
        return managing.followup_policy_update(
            dealership=self.dealership, acting_user=self.request.user, **form.service_data()
        )
