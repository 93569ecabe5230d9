"""The page that enters a past campaign (``campaigns.past``): its details and its invitation list as a file.

A refusal of the file lists its lines (unknown customer numbers, a customer twice, an unknown agent) and nothing
is imported; ticking "skip unknown customer numbers" imports the rest on purpose.
"""

from __future__ import annotations

from crispy_forms.layout import Column, Field, Fieldset, Layout, Row
from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.forms import fields_only_helper
from dealercrm.core.views import ServiceFormView, refusal_status

from . import past
from .forms import DATE, _capfirst_labels
from .models import Campaign

#: the campaign fields a past campaign takes (no call settings: nobody calls it any more)
PAST_FIELDS = ("code", "name", "kind", "description", "starts_on", "ends_on", "budget", "cost")


class PastCampaignForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Invitation list"),
        help_text=gettext_lazy(
            "CSV or Excel (.xlsx), a header row, then one invitee a line. Columns: 客户编号 (customer_no), "
            "required; 目标群组 (target_group) and 坐席 (agent: a username), optional. Without a target group "
            "the invitee is in one group named Invited."
        ),
    )
    skip_unknown = forms.BooleanField(
        label=gettext_lazy("Skip unknown customer numbers"),
        required=False,
        help_text=gettext_lazy("Import the other lines and leave out customer numbers this dealership does not have."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = forms.fields_for_model(
            Campaign,
            fields=PAST_FIELDS,
            widgets={"starts_on": DATE, "ends_on": DATE, "description": forms.Textarea(attrs={"rows": 2})},
        )
        self.fields = {**model_fields, **self.fields}
        _capfirst_labels(self)
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Fieldset(
                _("Campaign"),
                Row(Column("code", css_class="col-md-4"), Column("name", css_class="col-md-8")),
                Row(Column("kind", css_class="col-md-4")),
                Field("description"),
            ),
            Fieldset(
                _("When it ran, and its money"),
                Row(Column("starts_on", css_class="col-md-6"), Column("ends_on", css_class="col-md-6")),
                Row(Column("budget", css_class="col-md-6"), Column("cost", css_class="col-md-6")),
            ),
            Fieldset(_("Who was invited"), Field("file"), Field("skip_unknown")),
        )

    def clean_code(self):
        return (self.cleaned_data.get("code") or "").strip().upper()

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The last day comes before the first day."))
        return data


class PastCampaignCreateView(ServiceFormView):
    """Enter a past campaign (after-sales managers and administrators)."""

    action = "campaign.manage"
    template_name = "campaigns/past_form.html"
    form_class = PastCampaignForm
    form_id = "past-campaign-form"
    title = gettext_lazy("Enter a past campaign")
    submit_label = gettext_lazy("Import the campaign")

    def get_cancel_url(self):
        return reverse("campaigns:list")

    def form_valid(self, form):
        try:
            self.result = self.perform(form)
        except ApplicationError as exc:
            form.add_error(None, exc.message if not exc.extra else _("Nothing was imported."))
            self.problems = exc.extra
            return self.form_invalid(form, status=refusal_status(exc))
        messages.success(
            self.request,
            _("Past campaign %(code)s entered with %(n)s invitations (%(skipped)s unknown customer numbers skipped).")
            % {"code": self.result["campaign"].code, "n": self.result["invited"], "skipped": self.result["skipped"]},
        )
        return redirect(reverse("campaigns:detail", args=[self.result["campaign"].pk]))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["problems"] = getattr(self, "problems", None)
        return context

    def perform(self, form):
        data = form.cleaned_data
        return past.past_campaign_enter(
            dealership=self.dealership,
            rows=past.read_list(data["file"]),
            skip_unknown=data["skip_unknown"],
            acting_user=self.request.user,
            **{name: data[name] for name in PAST_FIELDS},
        )
