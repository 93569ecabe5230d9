"""Forms of the managers' campaign pages (crispy, Bootstrap 5). They validate input and shape it for the services;
they never save anything themselves.

- ``CampaignForm``: the fields of ``services.CAMPAIGN_FIELDS``, labels and limits borrowed from the model.
- ``TargetGroupForm``: the ``filters`` dict of ``targeting.FILTER_KEYS`` built from checkboxes, selects and dates;
  rates typed in percent (18 → 0.18); offers from the dealership's coupon templates.
- ``AgentWeightsForm`` (and ``ReassignForm``): agents of the dealership, each ticked with a whole-number weight.
- ``CouponTemplateForm``, ``IssueCouponsForm``, ``ComplianceTermForm``.
"""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.layout import Column, Field, Fieldset, Layout, Row
from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from customers.models import VisitType
from customers.selectors import vehicle_list
from dealercrm.core.forms import fields_only_helper
from segmentation.filters import NO_GROUP
from segmentation.models import AgeBand, C3Group, Tag, Tier, ValueLayer
from segmentation.tagging import AUTOMATIC_TAGS

from . import selectors, services
from .models import Campaign, ComplianceTerm, CouponTemplate, TargetGroup
from .targeting import filter_errors

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
HUNDRED = Decimal("100")

LAPSED_CHOICES = [
    ("", gettext_lazy("Lapsed or not")),
    ("yes", gettext_lazy("Lapsed only")),
    ("no", gettext_lazy("Not lapsed")),
]
C3_CHOICES = [*C3Group.choices, (NO_GROUP, gettext_lazy("No group"))]


def _capfirst_labels(form: forms.Form) -> None:
    for field in form.fields.values():
        if field.label:
            field.label = capfirst(field.label)


# --- Campaigns ---------------------------------------------------------------------------------------------


class CampaignForm(forms.Form):
    """A campaign's own fields. On edit every field is offered; the service refuses what the status forbids."""

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        if campaign is not None:
            kwargs["initial"] = {
                **{name: getattr(campaign, name) for name in services.CAMPAIGN_FIELDS},
                **(kwargs.get("initial") or {}),
            }
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields.update(
            forms.fields_for_model(
                Campaign,
                fields=services.CAMPAIGN_FIELDS,
                widgets={
                    "starts_on": DATE,
                    "ends_on": DATE,
                    "description": forms.Textarea(attrs={"rows": 3}),
                },
            )
        )
        _capfirst_labels(self)
        self.fields["code"].widget.attrs.update({"placeholder": _("e.g. BK2026W"), "autocomplete": "off"})
        self.fields["description"].help_text = _("Checked against the banned absolute expressions, like the scripts.")
        if campaign is None:
            self.fields["name"].widget.attrs["autofocus"] = True
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Fieldset(
                _("Campaign"),
                Row(Column("code", css_class="col-md-4"), Column("name", css_class="col-md-8")),
                Row(Column("kind", css_class="col-md-4")),
                Field("description"),
            ),
            Fieldset(
                _("Period and money"),
                Row(Column("starts_on", css_class="col-md-6"), Column("ends_on", css_class="col-md-6")),
                Row(Column("budget", css_class="col-md-6"), Column("cost", css_class="col-md-6")),
            ),
            Fieldset(
                _("Calls"),
                Row(
                    Column("max_attempts", css_class="col-md-6"),
                    Column("reinvite_after_days", css_class="col-md-6"),
                ),
            ),
        )

    def clean_code(self):
        return (self.cleaned_data.get("code") or "").strip().upper()

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The last day comes before the first day."))
        return data

    def fields_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in services.CAMPAIGN_FIELDS}

    def changes(self) -> dict:
        """What the manager changed (text compared without surrounding blanks, which the form strips): a
        finished campaign's cost can change even if its copy was saved with a trailing blank."""

        def same(old, new):
            return old.strip() == new.strip() if isinstance(old, str) and isinstance(new, str) else old == new

        return {
            name: value
            for name, value in self.fields_for_service().items()
            if not same(getattr(self.campaign, name), value)
        }


# --- Target groups -----------------------------------------------------------------------------------------


def percent_field(label, *, maximum: int, help_text="") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal(maximum),
        decimal_places=2,
        max_digits=5,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def as_percent(share: Decimal) -> Decimal:
    """0.125 → 12.5, 0.1000 → 10 (no trailing zeros, no exponent)."""
    value = share * HUNDRED
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def model_choices(dealership) -> list[tuple[str, str]]:
    """The dealership's distinct vehicle models (one query)."""
    names = vehicle_list(dealership=dealership).order_by("model").values_list("model", flat=True).distinct()
    return [(name, name) for name in names if name]


def tag_choices(dealership) -> list:
    """Automatic tags (by code) and the dealership's staff tags, grouped (one query)."""
    automatic = [(code, str(label)) for code, (_kind, label) in AUTOMATIC_TAGS.items()]
    own = [(tag.code, tag.name) for tag in Tag.objects.filter(dealership=dealership).order_by("name", "code")]
    choices = [(_("Automatic tags"), automatic)]
    if own:
        choices.append((_("Our own tags"), own))
    return choices


class TargetGroupForm(forms.Form):
    """A target group: its filters (``targeting.FILTER_KEYS``), goal, script and offers, A/B test and holdout."""

    name = forms.CharField(label=pgettext_lazy("target group", "Name"), max_length=80)
    position = forms.IntegerField(
        label=gettext_lazy("Order"),
        required=False,
        min_value=1,
        max_value=999,
        help_text=gettext_lazy("A customer is invited in the first group that matches. Blank: after the others."),
    )
    c3_group = forms.MultipleChoiceField(
        label=gettext_lazy("C3 group"), choices=C3_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    tier = forms.MultipleChoiceField(
        label=gettext_lazy("Visit tier"), choices=Tier.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    value_layer = forms.MultipleChoiceField(
        label=gettext_lazy("Value layer"),
        choices=ValueLayer.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    age_band = forms.MultipleChoiceField(
        label=gettext_lazy("Vehicle age"),
        choices=AgeBand.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The vehicle's age on the campaign's first day."),
    )
    models = forms.MultipleChoiceField(
        label=gettext_lazy("Vehicle models"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=gettext_lazy("Models of this store's vehicles; hold Ctrl (⌘ on a Mac) to choose several."),
    )
    models_text = forms.CharField(
        label=gettext_lazy("Other models"),
        required=False,
        max_length=400,
        help_text=gettext_lazy("Separated by commas, e.g. 新君威, GL8."),
    )
    plate_prefix = forms.CharField(label=gettext_lazy("Plate prefix"), required=False, max_length=8)
    last_visit_after = forms.DateField(label=gettext_lazy("Last visit on or after"), required=False, widget=DATE)
    last_visit_before = forms.DateField(label=gettext_lazy("Last visit on or before"), required=False, widget=DATE)
    tags = forms.MultipleChoiceField(
        label=gettext_lazy("Tags"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=gettext_lazy("Any of them."),
    )
    lapsed = forms.ChoiceField(label=gettext_lazy("Lapsed"), choices=LAPSED_CHOICES, required=False)
    goal_percent = percent_field(
        gettext_lazy("Goal: invitation success rate (%)"),
        maximum=100,
        help_text=gettext_lazy("Booked ÷ invited, in percent: 18 for 18 %."),
    )
    script = forms.CharField(
        label=gettext_lazy("Call script"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    offers = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Offer"),
        queryset=CouponTemplate.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Coupons issued when the customer accepts."),
    )
    ab_test = forms.BooleanField(
        label=gettext_lazy("A/B test: split the group at random between two scripts or offers"), required=False
    )
    script_b = forms.CharField(
        label=gettext_lazy("Call script, variant B"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    offers_b = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Offer, variant B"),
        queryset=CouponTemplate.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    holdout_percent = percent_field(
        gettext_lazy("Holdout (%)"),
        maximum=50,
        help_text=gettext_lazy("Share kept aside at random and never called, 0 to 50, to measure the uplift."),
    )
    invite_channel = forms.ChoiceField(
        label=gettext_lazy("Invite by message"),
        required=False,
        choices=[
            ("", gettext_lazy("No: the call centre calls")),
            *TargetGroup._meta.get_field("invite_channel").choices,
        ],
        help_text=gettext_lazy(
            "Each invitee gets a personal link to the campaign's page with its offer and a booking form."
        ),
    )
    call_after_message_days = forms.IntegerField(
        label=gettext_lazy("Then call those who have not booked after (days)"),
        required=False,
        min_value=0,
        max_value=60,
        help_text=gettext_lazy("Empty: the message replaces the call."),
    )

    def __init__(self, *args, campaign: Campaign, group: TargetGroup | None = None, **kwargs):
        self.campaign = campaign
        self.group = group
        dealership = campaign.dealership
        if group is not None:
            kwargs["initial"] = {**self.initial_from(group), **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        known_models = model_choices(dealership)
        self.fields["models"].choices = known_models
        if group is not None:  # a saved model no vehicle has any more goes to the text box
            saved = (group.filters or {}).get("models") or []
            names = {name for name, _label in known_models}
            self.initial["models"] = [m for m in saved if m in names]
            self.initial["models_text"] = ", ".join(m for m in saved if m not in names)
        self.fields["tags"].choices = tag_choices(dealership)
        templates = selectors.coupon_templates(dealership=dealership)
        if group is None:
            templates = templates.filter(active=True)
        self.fields["offers"].queryset = templates
        self.fields["offers_b"].queryset = templates
        self.fields["plate_prefix"].widget.attrs.update(
            {"placeholder": dealership.plate_prefix or _("e.g. 粤B"), "autocomplete": "off"}
        )
        self.fields["name"].widget.attrs.update({"placeholder": _("e.g. 盈利忠诚 · 2–5 years")})
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-8"), Column("position", css_class="col-md-4")),
            Fieldset(
                _("Who: the customer"),
                InlineCheckboxes("c3_group"),
                Row(
                    Column(InlineCheckboxes("tier"), css_class="col-lg-7"),
                    Column(InlineCheckboxes("value_layer"), css_class="col-lg-5"),
                ),
                Row(
                    Column("lapsed", css_class="col-md-4"),
                    Column("last_visit_after", css_class="col-md-4"),
                    Column("last_visit_before", css_class="col-md-4"),
                ),
                Field("tags"),
            ),
            Fieldset(
                _("Who: one of their vehicles"),
                Row(
                    Column("models", css_class="col-md-6"),
                    Column(Field("models_text"), Field("plate_prefix"), css_class="col-md-6"),
                ),
                InlineCheckboxes("age_band"),
            ),
            Fieldset(
                _("Goal, script and offer"),
                Row(Column("goal_percent", css_class="col-md-6")),
                Field("script"),
                Field("offers"),
            ),
            Fieldset(
                _("A/B test and holdout"),
                Field("ab_test"),
                Field("script_b"),
                Field("offers_b"),
                Row(Column("holdout_percent", css_class="col-md-6")),
            ),
            Fieldset(
                _("Invitation by message"),
                Row(
                    Column("invite_channel", css_class="col-md-6"),
                    Column("call_after_message_days", css_class="col-md-6"),
                ),
            ),
        )

    @staticmethod
    def initial_from(group: TargetGroup) -> dict:
        filters = group.filters or {}
        lapsed = filters.get("lapsed")
        return {
            "name": group.name,
            "position": group.position,
            "c3_group": filters.get("c3_group") or [],
            "tier": filters.get("tier") or [],
            "value_layer": filters.get("value_layer") or [],
            "age_band": filters.get("age_band") or [],
            "plate_prefix": filters.get("plate_prefix") or "",
            "last_visit_after": filters.get("last_visit_after") or None,
            "last_visit_before": filters.get("last_visit_before") or None,
            "tags": filters.get("tags") or [],
            "lapsed": "" if lapsed is None else ("yes" if lapsed else "no"),
            "goal_percent": None if group.goal_rate is None else as_percent(group.goal_rate),
            "script": group.script,
            "offers": list(group.offers.all()),
            "ab_test": group.ab_test,
            "script_b": group.script_b,
            "offers_b": list(group.offers_b.all()),
            "holdout_percent": as_percent(group.holdout_share),
            "invite_channel": group.invite_channel,
            "call_after_message_days": group.call_after_message_days,
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        self.filters = self.build_filters(data)
        for message in filter_errors(self.filters):
            self.add_error(None, message)
        if data.get("ab_test") and not (data.get("script_b") or "").strip():
            self.add_error("script_b", _("An A/B test needs the variant B script (it may differ only in its offer)."))
        if data.get("call_after_message_days") is not None and not data.get("invite_channel"):
            self.add_error(
                "call_after_message_days",
                _("Choose the channel of the message that the call follows, or leave the days empty."),
            )
        return data

    @staticmethod
    def build_filters(data: dict) -> dict:
        """The ``filters`` dict: only the conditions given."""
        filters = {}
        for key in ("c3_group", "tier", "value_layer", "age_band", "tags"):
            if data.get(key):
                filters[key] = list(data[key])
        models = list(data.get("models") or [])
        for name in (data.get("models_text") or "").replace("，", ",").split(","):
            name = name.strip()
            if name and name not in models:
                models.append(name)
        if models:
            filters["models"] = models
        plate = (data.get("plate_prefix") or "").strip().upper()
        if plate:
            filters["plate_prefix"] = plate
        for key in ("last_visit_after", "last_visit_before"):
            if data.get(key):
                filters[key] = data[key].isoformat()
        if data.get("lapsed") in ("yes", "no"):
            filters["lapsed"] = data["lapsed"] == "yes"
        return filters

    def fields_for_service(self) -> dict:
        data = self.cleaned_data
        fields = {
            "name": data["name"].strip(),
            "filters": self.filters,
            "goal_rate": None if data.get("goal_percent") is None else data["goal_percent"] / HUNDRED,
            "script": data.get("script") or "",
            "ab_test": bool(data.get("ab_test")),
            "script_b": data.get("script_b") or "",
            "holdout_share": (data.get("holdout_percent") or Decimal("0")) / HUNDRED,
            "invite_channel": data.get("invite_channel") or "",
            "call_after_message_days": data.get("call_after_message_days"),
        }
        if data.get("position"):
            fields["position"] = data["position"]
        return fields

    def offers_for_service(self) -> dict:
        return {"offers": list(self.cleaned_data["offers"]), "offers_b": list(self.cleaned_data["offers_b"])}


# --- Agents and weights ------------------------------------------------------------------------------------


class AgentWeightsForm(forms.Form):
    """A tick and a whole-number weight (1 = an even share) per agent of the dealership."""

    def __init__(self, *args, agents, prefix="", **kwargs):
        super().__init__(*args, prefix=prefix or None, **kwargs)
        self.agents = list(agents)
        for agent in self.agents:
            self.fields[f"agent_{agent.pk}"] = forms.BooleanField(label=str(agent), required=False, initial=True)
            self.fields[f"weight_{agent.pk}"] = forms.IntegerField(
                label=_("Weight of %(agent)s") % {"agent": agent},
                min_value=1,
                max_value=100,
                initial=1,
                required=False,
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "style": "width:6rem"}),
            )
            self.fields[f"agent_{agent.pk}"].widget.attrs["class"] = "form-check-input"

    def rows(self):
        """(agent, tick field, weight field) for the template's table."""
        return [(agent, self[f"agent_{agent.pk}"], self[f"weight_{agent.pk}"]) for agent in self.agents]

    def clean(self):
        data = super().clean()
        chosen = {}
        for agent in self.agents:
            if data.get(f"agent_{agent.pk}"):
                weight = data.get(f"weight_{agent.pk}")
                chosen[agent] = weight if weight else 1
        if not self.agents:
            raise forms.ValidationError(_("This store has no call-centre agent yet. An administrator adds them."))
        if not chosen and not self.errors:
            raise forms.ValidationError(_("Choose at least one agent."))
        self.weights = chosen
        return data


class ReassignForm(AgentWeightsForm):
    """Move one agent's open invitations to the chosen agents, by weight."""

    def __init__(self, *args, agents, from_agents, **kwargs):
        super().__init__(*args, agents=agents, **kwargs)
        self.fields["from_agent"] = forms.TypedChoiceField(
            label=_("From agent"),
            choices=[("", "---------")] + [(a.pk, str(a)) for a in from_agents],
            coerce=int,
        )
        self.fields["from_agent"].widget.attrs["class"] = "form-select"
        for agent in self.agents:
            self.fields[f"agent_{agent.pk}"].initial = False


# --- Coupons -----------------------------------------------------------------------------------------------


class CouponTemplateForm(forms.Form):
    """A coupon template (``services.TEMPLATE_FIELDS``); visit types as checkboxes, empty meaning any."""

    def __init__(self, *args, template: CouponTemplate | None = None, **kwargs):
        if template is not None:
            kwargs["initial"] = {
                **{name: getattr(template, name) for name in services.TEMPLATE_FIELDS},
                **(kwargs.get("initial") or {}),
            }
        super().__init__(*args, **kwargs)
        self.fields.update(
            forms.fields_for_model(
                CouponTemplate,
                fields=[name for name in services.TEMPLATE_FIELDS if name != "visit_types"],
                widgets={"valid_until": DATE},
            )
        )
        self.fields["visit_types"] = forms.MultipleChoiceField(
            label=CouponTemplate._meta.get_field("visit_types").verbose_name,
            choices=VisitType.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=CouponTemplate._meta.get_field("visit_types").help_text,
        )
        _capfirst_labels(self)
        self.fields["name"].widget.attrs.update({"placeholder": _("e.g. ¥100 工时券")})
        self.fields["gift"].help_text = _("Only for a free item or gift.")
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-6"), Column("kind", css_class="col-md-6")),
            Row(Column("value", css_class="col-md-6"), Column("gift", css_class="col-md-6")),
            Fieldset(
                _("Conditions"),
                Row(Column("min_spend", css_class="col-md-6"), Column("next_visit_only", css_class="col-md-6 pt-4")),
                InlineCheckboxes("visit_types"),
            ),
            Fieldset(
                _("Validity"),
                Row(
                    Column("valid_days", css_class="col-md-4"),
                    Column("valid_until", css_class="col-md-4"),
                    Column("active", css_class="col-md-4 pt-4"),
                ),
            ),
        )

    def fields_for_service(self) -> dict:
        data = dict(self.cleaned_data)
        data["visit_types"] = list(data.get("visit_types") or [])
        data["gift"] = (data.get("gift") or "").strip()
        return {name: data[name] for name in services.TEMPLATE_FIELDS}


class IssueCouponsForm(forms.Form):
    template = forms.ModelChoiceField(label=gettext_lazy("Coupon template"), queryset=CouponTemplate.objects.none())

    def __init__(self, *args, dealership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = selectors.coupon_templates(dealership=dealership).filter(active=True)


class ComplianceTermForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ComplianceTerm.Kind.choices)
    phrase = forms.CharField(label=gettext_lazy("Phrase"), max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phrase"].widget.attrs.update({"placeholder": _("e.g. 最权威"), "autocomplete": "off"})
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Row(Column("kind", css_class="col-md-5"), Column("phrase", css_class="col-md-7")),
        )
