"""The incentive tier tables' pages: every C3 group's table of the store (managers who read whole-store reports,
``reports.all``), and a group's table edited as a formset (``campaign.manage``: after-sales managers and
administrators, who set up campaigns and their offers; see ``reports.api.incentives`` for why).

The form takes the bar as a percent (11 for 11 %) and the amount in yuan; the service
(``reports.incentives.incentive_tiers_replace``) validates the whole table and saves it all or nothing, audited
as the signed-in user. A refusal lands back on the form with the tier and field it is about.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.roles import can
from dealercrm.core.views import DealershipMixin
from segmentation.models import C3Group

from . import incentives
from .registry import display

READ = "reports.all"
MANAGE = "campaign.manage"
HUNDRED = Decimal("100")
CENT = Decimal("0.01")


class TierForm(forms.Form):
    min_rate = forms.DecimalField(
        label=gettext_lazy("From arrival rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(HUNDRED)],
        help_text=gettext_lazy("0 to 100; one tier starts at 0."),
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (CNY)"),
        max_digits=10,
        decimal_places=2,
        help_text=gettext_lazy("Negative for a fine."),
    )
    per_customer = forms.BooleanField(label=gettext_lazy("Per arrived customer"), required=False, initial=True)


TierFormSet = forms.formset_factory(TierForm, extra=2, can_delete=True)


def _rows(tiers) -> list[dict]:
    return [
        {
            "tier": tier,
            "rate": display(tier.min_rate, "rate"),
            "amount": display(tier.amount, "money"),
        }
        for tier in tiers
    ]


class IncentiveTablesView(DealershipMixin, TemplateView):
    """Every group's tiers: the store's own or the defaults."""

    action = READ
    template_name = "reports/incentive_tiers.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tables = incentives.tier_tables(dealership=self.dealership)
        context.update(
            title=_("Incentive tiers"),
            may_edit=can(self.request.user, MANAGE),
            tables=[
                {
                    "group": group,
                    "label": C3Group(group).label,
                    "custom": table["custom"],
                    "rows": _rows(table["tiers"]),
                }
                for group, table in tables.items()
            ],
        )
        return context


class IncentiveTableEditView(DealershipMixin, TemplateView):
    """One group's tiers as a formset: every row saved at once, or none."""

    action = MANAGE
    template_name = "reports/incentive_tier_edit.html"

    @property
    def group(self) -> str:
        return incentives.c3_group_or_404(self.kwargs["group"])

    def _initial(self) -> tuple[list[dict], bool]:
        table = incentives.tier_tables(dealership=self.dealership)[self.group]
        return [
            {
                "min_rate": (tier.min_rate * HUNDRED).quantize(CENT),
                "amount": tier.amount,
                "per_customer": tier.per_customer,
            }
            for tier in table["tiers"]
        ], table["custom"]

    def get_context_data(self, formset=None, **kwargs):
        context = super().get_context_data(**kwargs)
        initial, custom = self._initial()
        context.update(
            title=_("Incentive tiers: %(group)s") % {"group": C3Group(self.group).label},
            group=self.group,
            custom=custom,
            formset=formset or TierFormSet(initial=initial, prefix="tiers"),
            back=reverse("reports:incentive-tiers"),
        )
        return context

    def post(self, request, *args, **kwargs):
        formset = TierFormSet(request.POST, prefix="tiers")
        if formset.is_valid():
            rows, forms_of = [], []
            for form in formset.forms:
                data = form.cleaned_data
                if not data or data.get("DELETE"):
                    continue
                rows.append(
                    {
                        "min_rate": data["min_rate"] / HUNDRED,
                        "amount": data["amount"],
                        "per_customer": bool(data.get("per_customer")),
                    }
                )
                forms_of.append(form)
            try:
                incentives.incentive_tiers_replace(
                    dealership=self.dealership, c3_group=self.group, tiers=rows, acting_user=request.user
                )
            except ApplicationError as exc:
                _show(formset, forms_of, exc)
            else:
                messages.success(request, _("Incentive tiers saved."))
                return redirect("reports:incentive-tiers")
        return self.render_to_response(self.get_context_data(formset=formset))


def _show(formset, forms_of, exc: ApplicationError) -> None:
    """The service's refusal on the formset: each ``tiers.<i>.<field>`` on its row's field, the rest above."""
    general = []
    for name, texts in (exc.fields or {}).items():
        parts = name.split(".")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(forms_of):
            form = forms_of[int(parts[1])]
            field = parts[2] if parts[2] in form.fields else None
            for text in texts:
                form.add_error(field, str(text))
        else:
            general.extend(str(text) for text in texts)
    formset._non_form_errors = formset.error_class(general or [exc.message], renderer=formset.renderer)


class IncentiveTableResetView(DealershipMixin, TemplateView):
    """Back to the defaults (a POST from the edit page)."""

    action = MANAGE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        group = incentives.c3_group_or_404(kwargs["group"])
        incentives.incentive_tiers_reset(dealership=self.dealership, c3_group=group, acting_user=request.user)
        messages.success(request, _("The default tiers apply again."))
        return redirect("reports:incentive-tiers")
