"""Forms of the complaint pages: open one (at the counter, from the customer 360 page) and resolve one."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dealercrm.core.forms import fields_only_helper

from .models import Complaint


class ComplaintOpenForm(forms.Form):
    visit = forms.ModelChoiceField(
        label=_("Visit"),
        queryset=None,
        required=False,
        empty_label=_("Not about one visit"),
        help_text=_("The repair order the complaint is about, if any."),
    )
    source = forms.ChoiceField(
        label=_("Heard"),
        choices=[
            (Complaint.Source.COUNTER, Complaint.Source.COUNTER.label),
            (Complaint.Source.CALL, Complaint.Source.CALL.label),
        ],
        initial=Complaint.Source.COUNTER,
    )
    summary = forms.CharField(
        label=_("What the customer said"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        help_text=_("In the customer's words, as far as you can."),
    )

    def __init__(self, *args, visits=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visit"].queryset = visits
        self.fields["visit"].label_from_instance = lambda v: (
            f"{v.opened_on:%Y-%m-%d} · {v.ro_number} · {v.get_visit_type_display()}"
        )
        self.helper = fields_only_helper()


class ComplaintResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("How it was handled"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        help_text=_("What was done, and what the customer was told."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only_helper()
