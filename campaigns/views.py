"""The managers' campaign pages: the campaign list, a campaign with its target groups, preview, invitation list and
results, the call-centre manager's progress page, coupon templates, and the compliance terms.

Thin views: ``DealershipMixin`` checks the role (``action``) and the current dealership; every record is read
through ``selectors`` scoped to that dealership, so another store's campaign, group, template or term is 404.
Writes go through ``services``; a service's refusal (``ApplicationError``) is shown on the form or as a message.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import FormView, TemplateView

from customers.models import ZERO, VisitType
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.forms import add_service_error
from dealercrm.core.models import User
from dealercrm.core.roles import can
from dealercrm.core.views import DealershipMixin, confirm_step, confirmed, refusal_status, refused
from dealercrm.core.views import ServiceFormView as BaseServiceFormView
from segmentation.filters import NO_GROUP
from segmentation.models import AgeBand, C3Group, Tag, Tier, ValueLayer
from segmentation.tagging import AUTOMATIC_TAGS

from . import compliance, selectors, services
from .forms import (
    AgentWeightsForm,
    CampaignForm,
    ComplianceTermForm,
    CouponTemplateForm,
    IssueCouponsForm,
    ReassignForm,
    TargetGroupForm,
)
from .models import Campaign, ComplianceTerm, CouponTemplate, Invitation, TargetGroup

CAMPAIGNS_PER_PAGE = 25

TESTS = {"fisher": gettext_lazy("Fisher's exact test"), "z": gettext_lazy("two-proportion z-test")}

#: what the form of a target group calls the model's fields (a service's error lands there)
GROUP_ERROR_FIELDS = {"goal_rate": "goal_percent", "holdout_share": "holdout_percent"}


def pct(value) -> float | None:
    """A share (0 … 1) as percent, for ``floatformat``; None stays None (nothing to divide by)."""
    return None if value is None else float(value) * 100


def show_service_error(form, exc: Exception, renamed: dict | None = None) -> None:
    """The service's refusal on the form: on the fields it names when the form has them, else above it."""
    fields = (getattr(exc, "extra", None) or {}).get("fields") or {}
    placed = False
    for name, errors in fields.items():
        target = (renamed or {}).get(name, name)
        if target in form.fields:
            for error in errors:
                form.add_error(target, error)
            placed = True
    if not placed:
        add_service_error(form, exc)


def form_error_text(form) -> str:
    """A small form's errors in one message (for a POST that redirects back): "Label: error" per field."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        parts.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return " ".join(parts)


# --- Describing a target group's filters -------------------------------------------------------------------


def staff_tag_names(dealership) -> dict[str, str]:
    return dict(Tag.objects.filter(dealership=dealership).values_list("code", "name"))


def describe_filters(filters: dict, *, tag_names: dict[str, str]) -> list[tuple[str, str]]:
    """The filters in words: (label, values), in the order a manager reads them."""
    filters = filters or {}
    described = []

    def labels(key, choices):
        known = {str(code): str(label) for code, label in choices}
        return ", ".join(known.get(str(code), str(code)) for code in filters.get(key) or [])

    if filters.get("c3_group"):
        described.append((_("C3 group"), labels("c3_group", [*C3Group.choices, (NO_GROUP, _("No group"))])))
    if filters.get("tier"):
        described.append((_("Visit tier"), labels("tier", Tier.choices)))
    if filters.get("value_layer"):
        described.append((_("Value layer"), labels("value_layer", ValueLayer.choices)))
    if filters.get("lapsed") is not None:
        described.append((_("Lapsed"), _("Lapsed only") if filters["lapsed"] else _("Not lapsed")))
    after, before = filters.get("last_visit_after"), filters.get("last_visit_before")
    if after and before:
        described.append((_("Last visit"), _("from %(after)s to %(before)s") % {"after": after, "before": before}))
    elif after:
        described.append((_("Last visit"), _("on or after %(day)s") % {"day": after}))
    elif before:
        described.append((_("Last visit"), _("on or before %(day)s") % {"day": before}))
    if filters.get("tags"):
        names = {code: str(label) for code, (_kind, label) in AUTOMATIC_TAGS.items()} | tag_names
        described.append((_("Tags, any of"), ", ".join(names.get(code, code) for code in filters["tags"])))
    if filters.get("models"):
        described.append((_("Models"), ", ".join(filters["models"])))
    if (filters.get("plate_prefix") or "").strip():
        described.append((_("Plate prefix"), filters["plate_prefix"]))
    if filters.get("age_band"):
        described.append((_("Vehicle age on the first day"), labels("age_band", AgeBand.choices)))
    return described


# --- Form pages --------------------------------------------------------------------------------------------


class ServiceFormView(BaseServiceFormView):
    """A campaign form page; a service's refusal lands on the fields it names (``error_fields`` renames)."""

    action = "campaign.manage"
    template_name = "campaigns/form_page.html"
    error_fields: dict | None = None

    def get_campaign(self):
        return None

    def page_context(self) -> dict:
        return {"campaign": self.get_campaign()}

    def get_cancel_url(self):
        campaign = self.get_campaign()
        return reverse("campaigns:detail", args=[campaign.pk]) if campaign else reverse("campaigns:list")

    def show_error(self, form, exc: Exception) -> None:
        show_service_error(form, exc, self.error_fields)


class CampaignMixin:
    """For pages under /campaigns/<pk>/: the campaign of this dealership, else 404."""

    def get_campaign(self):
        if not hasattr(self, "_campaign"):
            self._campaign = selectors.campaign_get(dealership=self.dealership, pk=self.kwargs["pk"])
            self._campaign.dealership = self.dealership
        return self._campaign


class GroupMixin:
    """For pages under /campaigns/groups/<pk>/: the target group of this dealership, else 404."""

    def get_group(self):
        if not hasattr(self, "_group"):
            self._group = get_object_or_404(selectors.target_groups(dealership=self.dealership), pk=self.kwargs["pk"])
            self._group.campaign.dealership = self.dealership
        return self._group

    def get_campaign(self):
        return self.get_group().campaign


def _count(rows):
    """``rows`` (correlated to the outer campaign) counted in a subquery: no join that multiplies rows."""
    counted = rows.order_by().values("campaign").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# --- The campaign list -------------------------------------------------------------------------------------


class CampaignListView(DealershipMixin, TemplateView):
    """The dealership's campaigns, newest first, with a status filter (``?status=``)."""

    action = "campaign.view"
    template_name = "campaigns/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        if status not in Campaign.Status.values:
            status = ""
        rows = selectors.campaigns(dealership=self.dealership)
        if status:
            rows = rows.filter(status=status)
        rows = rows.annotate(
            groups=_count(TargetGroup.objects.filter(campaign=OuterRef("pk"))),
            invited=_count(Invitation.objects.filter(campaign=OuterRef("pk"), holdout=False)),
        ).order_by("-starts_on", "-id")
        page = Paginator(rows, CAMPAIGNS_PER_PAGE).get_page(self.request.GET.get("page"))
        # the outcome columns (SPEC: the campaign list shows each campaign's outcome): one query for the page
        outcomes = selectors.campaign_outcomes(campaign_ids=[campaign.pk for campaign in page])
        for campaign in page:
            outcome = selectors.outcome_of(outcomes.get(campaign.pk))
            campaign.outcome = {
                **outcome,
                "attendance_pct": pct(outcome["attendance_rate"]),
                "sign_pct": pct(outcome["sign_rate"]),
            }
        context.update(
            page=page,
            status=status,
            status_label=dict(Campaign.Status.choices).get(status, ""),
            statuses=Campaign.Status.choices,
        )
        return context


class CampaignCreateView(ServiceFormView):
    form_class = CampaignForm
    form_id = "campaign-form"
    title = gettext_lazy("New campaign")
    submit_label = gettext_lazy("Create the campaign")

    def perform(self, form):
        return services.campaign_create(
            dealership=self.dealership, acting_user=self.request.user, **form.fields_for_service()
        )

    def get_success_url(self):
        messages.success(
            self.request,
            _("Campaign %(code)s created. Next: add its target groups.") % {"code": self.result.code},
        )
        return reverse("campaigns:detail", args=[self.result.pk])


class CampaignUpdateView(CampaignMixin, ServiceFormView):
    form_class = CampaignForm
    form_id = "campaign-form"
    title = gettext_lazy("Edit the campaign")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "campaign": self.get_campaign()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.get_campaign()
        allowed = {
            Campaign.Status.RUNNING: Campaign.RUNNING_FIELDS,
            Campaign.Status.FINISHED: Campaign.FINISHED_FIELDS,
        }.get(campaign.status)
        if allowed is not None:
            names = [str(Campaign._meta.get_field(name).verbose_name) for name in services.CAMPAIGN_FIELDS]
            context["editable_note"] = _("This campaign is %(status)s: only its %(fields)s can change.") % {
                "status": campaign.get_status_display().lower(),
                "fields": ", ".join(
                    name for field, name in zip(services.CAMPAIGN_FIELDS, names, strict=True) if field in allowed
                ),
            }
        return context

    def perform(self, form):
        return services.campaign_update(
            campaign=self.get_campaign(), changes=form.changes(), acting_user=self.request.user
        )

    def get_success_url(self):
        messages.success(self.request, _("Campaign %(code)s saved.") % {"code": self.result.code})
        return reverse("campaigns:detail", args=[self.result.pk])


# --- A campaign --------------------------------------------------------------------------------------------


class CampaignDetailView(CampaignMixin, DealershipMixin, TemplateView):
    """Everything about one campaign on one page. Its queries depend on the number of target groups, never on
    the number of customers or invitations (counts and aggregates only)."""

    action = "campaign.view"
    template_name = "campaigns/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.get_campaign()
        user = self.request.user
        manager, lists = can(user, "campaign.manage"), can(user, "calllist.manage")
        today = self.dealership.local_date()
        tag_names = staff_tag_names(self.dealership)
        groups = list(selectors.target_groups(dealership=self.dealership).filter(campaign=campaign))
        for group in groups:
            group.described = describe_filters(group.filters, tag_names=tag_names)
            group.goal_pct = pct(group.goal_rate)
            group.holdout_pct = pct(group.holdout_share)
        findings = compliance.campaign_findings(campaign)
        # Results are a report (SPEC): none for the advisor, an agent's own figures, the managers' all.
        own = None if can(user, "reports.all") else user
        summary = self.summary(campaign, agent=own)
        invited_any = any(row["invited"] or row["holdout"] for row in summary)
        context.update(
            campaign=campaign,
            results=can(user, "reports.view"),
            own_figures=own is not None,
            today=today,
            manager=manager,
            lists=lists,
            groups=groups,
            findings=findings,
            summary=summary,
            totals=self.totals(summary, cost=campaign.cost),
            invited_any=invited_any,
            draft=campaign.status == Campaign.Status.DRAFT,
            can_start=campaign.status == Campaign.Status.SCHEDULED and campaign.in_period(today),
            can_generate=campaign.status in (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING),
        )
        if campaign.status != Campaign.Status.FINISHED:
            preview = selectors.preview(campaign=campaign)
            context.update(
                preview=preview,
                nobody=[row["group"] for row in preview if row["matches"] == 0 and row["invited"] == 0],
                ineligible=selectors.ineligible_counts(dealership=self.dealership),
            )
        if lists and context["can_generate"]:
            context["generate_form"] = AgentWeightsForm(agents=services.agents_of(self.dealership), prefix="gen")
        if manager and invited_any and campaign.status != Campaign.Status.FINISHED:
            context["active_templates"] = list(
                selectors.coupon_templates(dealership=self.dealership).filter(active=True)
            )
        if invited_any:
            context.update(
                non_target=None if own else selectors.non_target_participants(campaign=campaign),
                variants=self.variants(campaign, agent=own),
                holdouts=self.holdouts(summary),
            )
        if can(user, "audit.view"):
            context["change_history"] = selectors.campaign_change_history(dealership=self.dealership, campaign=campaign)
        return context

    @staticmethod
    def summary(campaign, agent=None) -> list[dict]:
        rows = selectors.group_summary(campaign=campaign, agent=agent)
        for row in rows:
            row["success_pct"] = pct(row["success_rate"])
            row["goal_pct"] = pct(row["goal_rate"])
            row["attendance_pct"] = pct(row["attendance_rate"])
            row["goal_met"] = (  # judged once someone of the group has been called
                None
                if row["success_rate"] is None or row["goal_rate"] is None or not row["called"]
                else row["success_rate"] >= row["goal_rate"]
            )
        return rows

    @staticmethod
    def totals(summary, *, cost=ZERO) -> dict:
        keys = ("invited", "called", "reached", "booked", "attended", "holdout")
        totals = {key: sum(row[key] for row in summary) for key in keys}
        totals["revenue"] = sum((row["revenue"] for row in summary), start=0)
        invited, attended = totals["invited"], totals["attended"]
        totals["success_pct"] = pct(totals["booked"] / invited) if invited else None
        totals["attendance_pct"] = pct(attended / invited) if invited else None
        booked = totals["booked"]
        totals["average_ticket"] = (totals["revenue"] / attended).quantize(ZERO, ROUND_HALF_UP) if attended else None
        totals["cost_per_booking"] = (cost / booked).quantize(ZERO, ROUND_HALF_UP) if booked else None  # 签单成本
        return totals

    @staticmethod
    def variants(campaign, agent=None) -> list[dict]:
        rows = []
        for row in selectors.variant_results(campaign=campaign, agent=agent):
            comparison = row["comparison"]
            # A variant nobody of which has been called has no success rate yet (0 of 40 is not 0 %), and the
            # two are compared once both have been called.
            both = bool(row["a"]["called"] and row["b"]["called"] and comparison.test)
            rows.append(
                {
                    "group": row["group"],
                    "a": {**row["a"], "pct": pct(comparison.rate_a) if row["a"]["called"] else None},
                    "b": {**row["b"], "pct": pct(comparison.rate_b) if row["b"]["called"] else None},
                    "difference_pct": pct(comparison.difference) if both else None,
                    "test": TESTS.get(comparison.test, "") if both else "",
                    "p_value": comparison.p_value if both else None,
                    "significant": both and comparison.significant,
                    "compared": both,
                }
            )
        return rows

    @staticmethod
    def holdouts(summary) -> list[dict]:
        rows = []
        for row in selectors.holdout_results(summary=summary):
            uplift = row["uplift"]
            rows.append(
                {
                    "group": row["group"],
                    # before the group's first call there is nothing to measure; a zero-width interval (nobody
                    # came, or everybody, on both sides) has nothing to say either
                    "no_data": not row["called"],
                    "interval": uplift.low is not None and uplift.low != uplift.high,
                    "called_pct": pct(uplift.called_rate),
                    "holdout_pct": pct(uplift.holdout_rate),
                    "uplift_pct": pct(uplift.uplift),
                    "low_pct": pct(uplift.low),
                    "high_pct": pct(uplift.high),
                    "significant": uplift.low is not None and (uplift.low > 0 or uplift.high < 0),
                }
            )
        return rows


def confirm(request, campaign, *, name, title, lines, action, fields, button, danger=False, cancel=None):
    """The confirmation step of a campaign action, under the campaign's breadcrumb."""
    step = confirm_step(
        name=name,
        title=title,
        lines=lines,
        action=action,
        fields=fields,
        button=button,
        danger=danger,
        cancel=cancel or reverse("campaigns:detail", args=[campaign.pk]),
    )
    return render(request, "campaigns/confirm.html", {"campaign": campaign, "confirm": step})


class CampaignStatusView(CampaignMixin, DealershipMixin, View):
    """Schedule, start or finish the campaign (POST ``transition``); the service says why it cannot.
    Scheduling and finishing cannot be undone: they are confirmed first (``confirmed``)."""

    action = "campaign.manage"
    TRANSITIONS = {
        "schedule": (services.campaign_schedule, gettext_lazy("Campaign %(code)s is scheduled.")),
        "start": (services.campaign_start, gettext_lazy("Campaign %(code)s is running.")),
        "finish": (services.campaign_finish, gettext_lazy("Campaign %(code)s is finished.")),
    }
    CONFIRMED = {"schedule", "finish"}

    def post(self, request, pk):
        campaign = self.get_campaign()
        transition = request.POST.get("transition", "")
        if transition not in self.TRANSITIONS:
            return HttpResponseBadRequest(_("Unknown action."))
        if transition in self.CONFIRMED and not confirmed(request):
            return self.confirmation(request, campaign, transition, today=self.dealership.local_date())
        service, done = self.TRANSITIONS[transition]
        try:
            service(campaign=campaign, acting_user=request.user)
        except ApplicationError as exc:
            return refused(request, exc, back=reverse("campaigns:detail", args=[campaign.pk]))
        messages.success(request, done % {"code": campaign.code})
        return redirect("campaigns:detail", pk=campaign.pk)

    @staticmethod
    def confirmation(request, campaign, transition, *, today):
        action = reverse("campaigns:status", args=[campaign.pk])
        fields = [("transition", transition)]
        if transition == "schedule":
            return confirm(
                request,
                campaign,
                name=transition,
                title=_("Schedule campaign “%(name)s”?") % {"name": campaign.name},
                lines=[
                    _(
                        "Its target groups are fixed from then on: their filters, scripts, offers, A/B test and "
                        "holdout no longer change, and a scheduled campaign does not go back to draft."
                    ),
                    _("It starts by itself on %(day)s; then the call lists can be given to the agents.")
                    % {"day": campaign.starts_on.isoformat()}
                    if campaign.starts_on > today
                    else _("Its period has begun: start it at once, or the daily job starts it on its next run."),
                ],
                action=action,
                fields=fields,
                button=_("Schedule the campaign"),
            )
        still = selectors.invitations_open(campaign=campaign).count()
        return confirm(
            request,
            campaign,
            name=transition,
            title=_("Finish campaign “%(name)s”?") % {"name": campaign.name},
            lines=[
                ngettext(
                    "The agents stop calling at once: %(n)d customer still to call leaves their lists.",
                    "The agents stop calling at once: %(n)d customers still to call leave their lists.",
                    still,
                )
                % {"n": still},
                _("A finished campaign does not start again; only its cost can still change."),
            ],
            action=action,
            fields=fields,
            button=_("Finish the campaign"),
            danger=True,
        )


class InvitationListGenerateView(CampaignMixin, DealershipMixin, View):
    """Freeze the invitation list and share it among the chosen agents by weight (POST)."""

    action = "calllist.manage"

    def post(self, request, pk):
        campaign = self.get_campaign()
        form = AgentWeightsForm(request.POST, agents=services.agents_of(self.dealership), prefix="gen")
        target = reverse("campaigns:detail", args=[campaign.pk]) + "#generate"
        if not form.is_valid():
            messages.error(request, form_error_text(form))
            return redirect(target)
        try:
            result = services.invitation_list_generate(campaign=campaign, agents=form.weights, acting_user=request.user)
        except ApplicationError as exc:
            return refused(request, exc, back=target)
        names = dict(campaign.target_groups.values_list("pk", "name"))
        held_out = result["holdout"]
        per_group = ", ".join(  # the invited of each group: the holdout is not on anyone's list
            _("%(group)s: %(n)d") % {"group": names.get(pk, pk), "n": n - held_out.get(pk, 0)}
            for pk, n in result["per_group"].items()
        )
        holdout = sum(held_out.values())
        invited = result["added"] - holdout
        figures = {"added": invited, "groups": per_group, "assigned": result["assigned"], "holdout": holdout}
        if result["added"] and holdout:
            messages.success(
                request,
                ngettext(
                    "List generated: %(added)d customer invited (%(groups)s), %(assigned)d assigned to agents; "
                    "%(holdout)d more kept back as the holdout and not called.",
                    "List generated: %(added)d customers invited (%(groups)s), %(assigned)d assigned to agents; "
                    "%(holdout)d more kept back as the holdout and not called.",
                    invited,
                )
                % figures,
            )
        elif result["added"]:
            messages.success(
                request,
                ngettext(
                    "List generated: %(added)d customer added (%(groups)s), %(assigned)d assigned to agents.",
                    "List generated: %(added)d customers added (%(groups)s), %(assigned)d assigned to agents.",
                    invited,
                )
                % figures,
            )
        else:
            messages.info(request, _("Nobody new to add: every matching customer is already on the list."))
        planned = sum(result.get("messages", {}).values())
        if planned:  # invitations by message (campaigns.invites): the follow-up dispatcher sends them
            messages.info(
                request,
                ngettext(
                    "%(n)d invitation by message planned: it goes out from the campaign's first day, in sending hours.",
                    "%(n)d invitations by message planned: they go out from the campaign's first day, in sending "
                    "hours.",
                    planned,
                )
                % {"n": planned},
            )
        return redirect(reverse("campaigns:detail", args=[campaign.pk]) + "#results")


# --- Target groups -----------------------------------------------------------------------------------------


class TargetGroupFormMixin:
    form_class = TargetGroupForm
    form_id = "group-form"
    template_name = "campaigns/group_form.html"
    error_fields = GROUP_ERROR_FIELDS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.get_campaign()
        if campaign.status != Campaign.Status.DRAFT:
            context["locked_note"] = _(
                "Target groups change only while the campaign is a draft; this one is %(s)s."
            ) % {"s": campaign.get_status_display().lower()}
        context["first_day"] = campaign.starts_on
        return context

    def get_success_url(self):
        return reverse("campaigns:detail", args=[self.get_campaign().pk]) + "#groups"


class TargetGroupCreateView(TargetGroupFormMixin, CampaignMixin, ServiceFormView):
    title = gettext_lazy("New target group")
    submit_label = gettext_lazy("Add the target group")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "campaign": self.get_campaign()}

    def perform(self, form):
        group = services.target_group_create(
            campaign=self.get_campaign(),
            acting_user=self.request.user,
            **form.offers_for_service(),
            **form.fields_for_service(),
        )
        messages.success(self.request, _("Target group “%(name)s” added.") % {"name": group.name})
        return group


class TargetGroupUpdateView(TargetGroupFormMixin, GroupMixin, ServiceFormView):
    title = gettext_lazy("Edit the target group")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "campaign": self.get_campaign(), "group": self.get_group()}

    def perform(self, form):
        group = services.target_group_update(
            group=self.get_group(),
            changes=form.fields_for_service(),
            acting_user=self.request.user,
            **form.offers_for_service(),
        )
        messages.success(self.request, _("Target group “%(name)s” saved.") % {"name": group.name})
        return group


class TargetGroupDeleteView(GroupMixin, DealershipMixin, TemplateView):
    """Ask, then delete the target group (POST); only a draft's groups can go."""

    action = "campaign.manage"
    template_name = "campaigns/group_confirm_delete.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(group=self.get_group(), campaign=self.get_campaign())
        return context

    def post(self, request, pk):
        group = self.get_group()
        try:
            services.target_group_delete(group=group, acting_user=request.user)
        except ApplicationError as exc:
            return refused(request, exc, back=reverse("campaigns:detail", args=[group.campaign_id]) + "#groups")
        else:
            messages.success(request, _("Target group “%(name)s” deleted.") % {"name": group.name})
        return redirect(reverse("campaigns:detail", args=[group.campaign_id]) + "#groups")


class IssueCouponsView(GroupMixin, DealershipMixin, View):
    """Issue a coupon of a template to every invitee of the group who has none of it yet (POST), once the
    manager has confirmed it (``confirmed``) on the page that says how many coupons that makes."""

    action = "campaign.manage"

    def post(self, request, pk):
        group = self.get_group()
        form = IssueCouponsForm(request.POST, dealership=self.dealership)
        if not form.is_valid():
            messages.error(request, _("Choose an active coupon template of this store."))
        elif not confirmed(request):
            template = form.cleaned_data["template"]
            n = selectors.coupon_issue_invitations(group=group, template=template).count()
            return confirm(
                request,
                group.campaign,
                name="issue-coupons",
                title=_("Issue “%(template)s” to target group “%(group)s”?")
                % {"template": template.name, "group": group.name},
                lines=[
                    ngettext(
                        "%(n)d invitee of the group who has no such coupon yet gets one now.",
                        "%(n)d invitees of the group who have no such coupon yet get one now.",
                        n,
                    )
                    % {"n": n},
                    _("A coupon once issued is only taken back by voiding it, one by one."),
                ],
                action=reverse("campaigns:group-issue-coupons", args=[group.pk]),
                fields=[("template", template.pk)],
                button=ngettext("Issue %(n)d coupon", "Issue %(n)d coupons", n) % {"n": n},
                cancel=reverse("campaigns:detail", args=[group.campaign_id]) + "#groups",
            )
        else:
            try:
                issued = services.coupons_issue_to_group(
                    group=group, template=form.cleaned_data["template"], acting_user=request.user
                )
            except ApplicationError as exc:
                return refused(request, exc, back=reverse("campaigns:detail", args=[group.campaign_id]) + "#groups")
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(n)d coupon “%(template)s” issued to target group “%(group)s”.",
                        "%(n)d coupons “%(template)s” issued to target group “%(group)s”.",
                        issued,
                    )
                    % {"n": issued, "template": form.cleaned_data["template"].name, "group": group.name},
                )
        return redirect(reverse("campaigns:detail", args=[group.campaign_id]) + "#groups")


# --- Progress and assignment -------------------------------------------------------------------------------


class ProgressView(CampaignMixin, DealershipMixin, TemplateView):
    """The call-centre manager's view: calls per agent and per target group against the goal, and moving work."""

    action = "calllist.manage"
    template_name = "campaigns/progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.get_campaign()
        agents = list(services.agents_of(self.dealership))
        progress = selectors.agent_progress(campaign=campaign)
        for row in progress:
            row["success_pct"] = pct(row["success_rate"])
        unassigned = (
            selectors.invitations(dealership=self.dealership)
            .filter(campaign=campaign, agent__isnull=True, holdout=False, status__in=Invitation.OPEN)
            .exclude(**services.MESSAGE_ONLY)  # invited by message alone: nobody calls them
            .count()
        )
        context.update(
            campaign=campaign,
            progress=progress,
            summary=CampaignDetailView.summary(campaign),
            unassigned=unassigned,
            open_work=campaign.status != Campaign.Status.FINISHED,
            reassign_form=kwargs.get("reassign_form") or reassign_form(agents, progress),
            assign_form=kwargs.get("assign_form") or AgentWeightsForm(agents=agents, prefix="assign"),
        )
        return context


def reassign_form(agents, progress, data=None) -> ReassignForm:
    """Agents who hold open invitations of the campaign may give them away, even if they have left since."""
    holding = [row["agent_id"] for row in progress if row["open"]]
    ids = {agent.pk for agent in agents}
    extra = list(User.objects.filter(pk__in=set(holding) - ids)) if set(holding) - ids else []
    from_agents = [agent for agent in agents if agent.pk in holding] + extra
    return ReassignForm(data, agents=agents, from_agents=from_agents, prefix="move")


class ReassignView(CampaignMixin, DealershipMixin, View):
    action = "calllist.manage"

    def post(self, request, pk):
        campaign = self.get_campaign()
        agents = list(services.agents_of(self.dealership))
        form = reassign_form(agents, selectors.agent_progress(campaign=campaign), request.POST)
        if not form.is_valid():
            messages.error(request, form_error_text(form))
        else:
            try:
                moved = services.invitations_reassign(
                    campaign=campaign,
                    from_agent=form.cleaned_data["from_agent"],
                    agents=form.weights,
                    acting_user=request.user,
                )
            except ApplicationError as exc:
                return refused(request, exc, back=reverse("campaigns:progress", args=[campaign.pk]))
            else:
                messages.success(
                    request,
                    ngettext("%(n)d open invitation moved.", "%(n)d open invitations moved.", moved) % {"n": moved},
                )
        return redirect("campaigns:progress", pk=campaign.pk)


class AssignView(CampaignMixin, DealershipMixin, View):
    action = "calllist.manage"

    def post(self, request, pk):
        campaign = self.get_campaign()
        form = AgentWeightsForm(request.POST, agents=services.agents_of(self.dealership), prefix="assign")
        if not form.is_valid():
            messages.error(request, form_error_text(form))
        else:
            try:
                assigned = services.invitations_assign(campaign=campaign, agents=form.weights, acting_user=request.user)
            except ApplicationError as exc:
                return refused(request, exc, back=reverse("campaigns:progress", args=[campaign.pk]))
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(n)d unassigned invitation given to an agent.",
                        "%(n)d unassigned invitations given to agents.",
                        assigned,
                    )
                    % {"n": assigned},
                )
        return redirect("campaigns:progress", pk=campaign.pk)


# --- Coupon templates --------------------------------------------------------------------------------------


class CouponTemplateListView(DealershipMixin, TemplateView):
    action = "campaign.view"
    template_name = "campaigns/coupon_templates.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        templates = list(
            selectors.coupon_templates(dealership=self.dealership).annotate(
                issued=Count("coupons", distinct=True),
                redeemed=Count("coupons", filter=Q(coupons__status="redeemed"), distinct=True),
            )
        )
        visit_types = dict(VisitType.choices)
        for template in templates:
            template.visit_type_labels = [str(visit_types.get(code, code)) for code in template.visit_types or []]
        context["templates"] = templates
        return context


class CouponTemplateMixin:
    form_class = CouponTemplateForm
    form_id = "coupon-template-form"

    def get_cancel_url(self):
        return reverse("campaigns:coupon-templates")

    def get_success_url(self):
        return reverse("campaigns:coupon-templates")


class CouponTemplateCreateView(CouponTemplateMixin, ServiceFormView):
    title = gettext_lazy("New coupon template")
    submit_label = gettext_lazy("Create the template")

    def perform(self, form):
        template = services.coupon_template_create(
            dealership=self.dealership, acting_user=self.request.user, **form.fields_for_service()
        )
        messages.success(self.request, _("Coupon template “%(name)s” created.") % {"name": template.name})
        return template


class CouponTemplateUpdateView(CouponTemplateMixin, ServiceFormView):
    title = gettext_lazy("Edit the coupon template")

    def get_template(self) -> CouponTemplate:
        if not hasattr(self, "_template"):
            self._template = get_object_or_404(
                selectors.coupon_templates(dealership=self.dealership), pk=self.kwargs["pk"]
            )
        return self._template

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "template": self.get_template()}

    def perform(self, form):
        template = services.coupon_template_update(
            template=self.get_template(), changes=form.fields_for_service(), acting_user=self.request.user
        )
        messages.success(self.request, _("Coupon template “%(name)s” saved.") % {"name": template.name})
        return template


# --- Compliance terms --------------------------------------------------------------------------------------


class ComplianceView(DealershipMixin, FormView):
    """The built-in banned expressions and allowed phrases, and this store's own terms (add here, remove below)."""

    action = "campaign.manage"
    template_name = "campaigns/compliance.html"
    form_class = ComplianceTermForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        own = list(selectors.compliance_terms(dealership=self.dealership))
        banned, allowed = compliance.terms(self.dealership)
        context.update(
            builtin_banned=sorted(compliance.BANNED),
            builtin_allowed=sorted(compliance.ALLOWED),
            own_banned=[t for t in own if t.kind == ComplianceTerm.Kind.BANNED],
            own_allowed=[t for t in own if t.kind == ComplianceTerm.Kind.ALLOWED],
            lifted=sorted(set(compliance.BANNED) - set(banned)),
            in_force_banned=banned,
            in_force_allowed=allowed,
        )
        return context

    def form_valid(self, form):
        try:
            term = services.compliance_term_add(
                dealership=self.dealership,
                kind=form.cleaned_data["kind"],
                phrase=form.cleaned_data["phrase"],
                acting_user=self.request.user,
            )
        except ApplicationError as exc:
            show_service_error(form, exc)
            response = self.form_invalid(form)
            response.status_code = refusal_status(exc)  # 409 for a state conflict, as in the API
            return response
        if term.kind == ComplianceTerm.Kind.BANNED:
            text = _("“%(phrase)s” added to the banned expressions.")
        else:
            text = _("“%(phrase)s” added to the allowed phrases.")
        messages.success(self.request, text % {"phrase": term.phrase})
        return redirect("campaigns:compliance")


class ComplianceTermRemoveView(DealershipMixin, View):
    action = "campaign.manage"

    def post(self, request, pk):
        term = get_object_or_404(selectors.compliance_terms(dealership=self.dealership), pk=pk)
        services.compliance_term_remove(term=term, acting_user=request.user)
        messages.success(request, _("“%(phrase)s” removed.") % {"phrase": term.phrase})
        return redirect("campaigns:compliance")
