"""Segmentation forms (crispy, Bootstrap 5): the customer list's filter layout and a new version of the rules.

The rules form is a plain form built from the model's fields (labels, limits, decimals): it never validates
the rules as a whole. ``ruleset_update`` does (``RuleSet.clean``), and ``add_rules_error`` puts its errors on
the fields they name; an error about the C3 mapping lands on the cells that hold the repeated group.
"""

from __future__ import annotations

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.layout import Column, Div, Field, Fieldset, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealercrm.core.forms import add_service_error, fields_only_helper

from .models import C3_CELLS, C3Group, RuleSet

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- The customer list's filter ----------------------------------------------------------------------------


class LapsedSelect(forms.NullBooleanSelect):
    """``lapsed=true|false`` in the address, with words that say what each choice lists."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [
            ("unknown", gettext_lazy("Lapsed or not")),
            ("true", gettext_lazy("Lapsed only")),
            ("false", gettext_lazy("Not lapsed")),
        ]


def prepare_filter_form(form: forms.Form) -> forms.Form:
    """Widgets and layout for ``SegmentFilter``'s form: checkboxes for the codes, date pickers, a lapsed select."""
    for name in ("c3_group", "tier", "value_layer", "age_band"):
        form.fields[name].widget = forms.CheckboxSelectMultiple(choices=form.fields[name].choices)
    form.fields["lapsed"].widget = LapsedSelect()
    for name in ("last_visit_after", "last_visit_before"):
        form.fields[name].widget = DATE
    for field in form.fields.values():
        field.label = capfirst(field.label)
    form.fields["model"].widget.attrs.update({"placeholder": _("e.g. GL8"), "autocomplete": "off"})
    form.fields["plate_prefix"].widget.attrs.update({"placeholder": _("e.g. 粤B"), "autocomplete": "off"})
    helper = fields_only_helper()
    helper.layout = Layout(
        InlineCheckboxes("c3_group"),
        Row(
            Column(InlineCheckboxes("tier"), css_class="col-lg-7"),
            Column(InlineCheckboxes("value_layer"), css_class="col-lg-5"),
        ),
        Row(
            Column("lapsed", css_class="col-md-3"),
            Column("last_visit_after", css_class="col-md-3"),
            Column("last_visit_before", css_class="col-md-3"),
        ),
        Row(
            Column("model", css_class="col-md-3"),
            Column("plate_prefix", css_class="col-md-3"),
            Column(InlineCheckboxes("age_band"), css_class="col-md-6"),
        ),
    )
    form.helper = helper
    return form


# --- A new version of the rules ----------------------------------------------------------------------------

_LEVELS = {
    # (maintenance, value, repair ratio) × (H, L): each piece translated on its own, joined with " · ".
    0: {"H": gettext_lazy("maintenance high"), "L": gettext_lazy("maintenance low")},
    1: {"H": gettext_lazy("value high"), "L": gettext_lazy("value low")},
    2: {"H": gettext_lazy("repair ratio high"), "L": gettext_lazy("repair ratio low")},
}
SCALAR_FIELDS = [name for name in RuleSet.RULE_FIELDS if name not in ("c3_mapping", "brand_schedules")]


def cell_label(cell: str) -> str:
    """``"HLH"`` → "maintenance high · value low · repair ratio high"."""
    return " · ".join(str(_LEVELS[i][level]) for i, level in enumerate(cell))


def cell_field(cell: str) -> str:
    return f"c3_{cell}"


class RuleSetForm(forms.Form):
    """Every rule of ``RuleSet.RULE_FIELDS``: the C3 mapping as eight selects, brand schedules as JSON."""

    def __init__(self, *args, current: RuleSet, **kwargs):
        initial = {name: getattr(current, name) for name in SCALAR_FIELDS}
        initial.update({cell_field(cell): current.c3_mapping.get(cell, "") for cell in C3_CELLS})
        initial["brand_schedules"] = current.brand_schedules or {}
        kwargs["initial"] = {**initial, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.current = current
        self.fields.update(forms.fields_for_model(RuleSet, fields=SCALAR_FIELDS))
        self.fields["value_threshold_fixed"].help_text = _("Only used with the fixed value threshold.")
        self.fields["repair_ratio_threshold"].help_text = _("A share between 0 and 1: 0.5 is half the spend.")
        self.fields["value_threshold_mode"].widget = forms.RadioSelect(
            choices=self.fields["value_threshold_mode"].choices
        )
        for cell in C3_CELLS:
            self.fields[cell_field(cell)] = forms.ChoiceField(label=cell_label(cell), choices=C3Group.choices)
        self.fields["brand_schedules"] = forms.JSONField(
            label=capfirst(RuleSet._meta.get_field("brand_schedules").verbose_name),
            required=False,
            widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "font-monospace"}),
            help_text=RuleSet._meta.get_field("brand_schedules").help_text,
        )
        self.fields["note"] = forms.CharField(
            label=_("What changed, and why"),
            max_length=200,
            required=False,
            help_text=_("Shown in the version history, e.g. “Value threshold fixed at ¥5,000 for the Q3 review”."),
        )
        mapping = Div(
            Row(*[Column(cell_field(cell), css_class="col-md-6") for cell in C3_CELLS]),
            css_id="c3-mapping",
        )
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Fieldset(
                _("C3 groups"),
                Row(
                    Column("window_days", css_class="col-md-4"),
                    Column("maintenance_threshold", css_class="col-md-4"),
                    Column("repair_ratio_threshold", css_class="col-md-4"),
                ),
                Row(
                    Column("value_threshold_mode", css_class="col-md-6"),
                    Column("value_threshold_fixed", css_class="col-md-6"),
                ),
            ),
            Fieldset(_("C3 mapping: the group of each cell"), mapping),
            Fieldset(
                _("Visit tiers"),
                Row(
                    Column("tier_a_min", css_class="col-md-4"),
                    Column("tier_b_min", css_class="col-md-4"),
                    Column("tier_c_min", css_class="col-md-4"),
                ),
            ),
            Fieldset(
                _("Value layers"),
                Row(
                    Column("high_value_above", css_class="col-md-6"),
                    Column("high_value_visits", css_class="col-md-6"),
                ),
                Row(
                    Column("mid_value_from", css_class="col-md-6"),
                    Column("mid_value_visits", css_class="col-md-6"),
                ),
            ),
            Fieldset(
                _("Lapsed customers and maintenance due dates"),
                Row(
                    Column("lapsed_days", css_class="col-md-4"),
                    Column("schedule_interval_days", css_class="col-md-4"),
                    Column("schedule_distance_km", css_class="col-md-4"),
                ),
                Field("brand_schedules"),
            ),
            Field("note"),
        )

    def clean_brand_schedules(self):
        value = self.cleaned_data.get("brand_schedules")
        return {} if value in (None, "") else value

    def changes(self) -> dict:
        """The rules as entered, keyed like ``RuleSet.RULE_FIELDS``, for ``ruleset_update``."""
        data = self.cleaned_data
        changes = {name: data[name] for name in SCALAR_FIELDS}
        changes["c3_mapping"] = {cell: data[cell_field(cell)] for cell in C3_CELLS}
        changes["brand_schedules"] = data["brand_schedules"]
        return changes

    def add_rules_error(self, exc: Exception) -> None:
        """The service's refusal on the form: the C3 mapping's on the cells holding a repeated group (else on
        the first cell), every other field's on that field, "nothing changed" above the form."""
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict") and "c3_mapping" in exc.error_dict:
            errors = dict(exc.error_dict)
            mapping = errors.pop("c3_mapping")
            values = [self.cleaned_data.get(cell_field(cell)) for cell in C3_CELLS]
            repeated = [cell for cell, value in zip(C3_CELLS, values, strict=True) if values.count(value) > 1]
            for cell in repeated or C3_CELLS[:1]:
                for error in mapping:
                    self.add_error(cell_field(cell), ValidationError(error.messages))
            if not errors:
                return
            exc = ValidationError(errors)
        add_service_error(self, exc)
