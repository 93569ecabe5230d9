"""Counter forms (crispy, Bootstrap 5). They validate input; the views hand ``cleaned_data`` to the services.

The model forms borrow the models' labels and validators (VIN check digit, plate,
phone in region CN) but never ``save()``: customers/services.py does the writing.
"""

from decimal import Decimal

from crispy_forms.layout import HTML, Column, Fieldset, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from dealercrm.core.forms import fields_only_helper
from dealercrm.core.privacy import mask_phone

from .models import ConsentChannel, Customer, ServiceVisit, Vehicle
from .validators import normalize_plate, normalize_vin

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ZERO = Decimal("0.00")


class CustomerForm(forms.ModelForm):
    """Create or edit a customer. Marketing consent is recorded separately (PIPL), except once at creation."""

    CONSENT_CHOICES = [
        ("", _("Not asked")),
        ("granted", _("Granted")),
        ("withdrawn", _("Refused")),
    ]

    consent = forms.ChoiceField(
        label=_("Marketing consent"),
        choices=CONSENT_CHOICES,
        required=False,
        help_text=_("Asked at the counter just now? Recorded with today's date and “At the counter”."),
    )

    class Meta:
        model = Customer
        fields = [
            "customer_no",
            "name",
            "phone",
            "gender",
            "birthday",
            "city",
            "preferred_channel",
            "member_tier",
            "points",
            "do_not_contact",
            "flag_wrong_number",
            "flag_bounced",
            "notes",
        ]
        widgets = {"birthday": DATE, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, dealership, **kwargs):
        super().__init__(*args, **kwargs)
        self.dealership = dealership
        creating = self.instance.pk is None
        self.fields["customer_no"].required = not creating
        if creating:
            self.fields["customer_no"].help_text = _("Leave blank to number the customer here (CRM000001, …).")
            self.fields["phone"].required = True  # the model allows none only for an erased customer
        else:
            del self.fields["consent"]
            # Never the full number on the page (PIPL: masked): the field starts blank, showing the masked
            # number; blank keeps the number on file (clean_phone), a number typed replaces it.
            self.initial["phone"] = ""
            self.fields["phone"].required = False
            self.fields["phone"].widget.attrs["placeholder"] = mask_phone(self.instance.phone)
            self.fields["phone"].help_text = _("Leave blank to keep the number on file; type a new one to change it.")
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})
        self.fields["name"].widget.attrs["autofocus"] = True
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Fieldset(
                _("Customer"),
                Row(Column("name", css_class="col-md-6"), Column("customer_no", css_class="col-md-6")),
                Row(Column("phone", css_class="col-md-6"), Column("gender", css_class="col-md-6")),
                Row(Column("birthday", css_class="col-md-6"), Column("city", css_class="col-md-6")),
            ),
            Fieldset(
                _("Contact and membership"),
                Row(
                    Column("preferred_channel", css_class="col-md-4"),
                    Column("member_tier", css_class="col-md-4"),
                    Column("points", css_class="col-md-4"),
                ),
                *(["consent"] if creating else []),
                Row(
                    Column("do_not_contact", css_class="col-md-4"),
                    Column("flag_wrong_number", css_class="col-md-4"),
                    Column("flag_bounced", css_class="col-md-4"),
                ),
                "notes",
            ),
        )

    def clean_customer_no(self):
        number = (self.cleaned_data.get("customer_no") or "").strip()
        if number:
            taken = Customer.objects.filter(dealership=self.dealership, customer_no=number)
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                raise ValidationError(_("Customer number %(no)s already exists."), params={"no": number})
        return number

    def clean_phone(self):
        phone = self.cleaned_data.get("phone")
        if not phone and self.instance.pk:
            return self.instance.phone  # left blank on the edit form: the number on file stays
        return phone

    def clean_consent(self):
        value = self.cleaned_data.get("consent")
        return {"granted": True, "withdrawn": False}.get(value)


class ConsentForm(forms.Form):
    """Record a grant or withdrawal of marketing consent: the PIPL record, with its proof.

    The page shows the store's consent text (``customers.consent.consent_text_for``) for the advisor to read out
    or show; the text travels with the form (``text_shown``) and is kept with the event. Should the store's text
    change between showing and recording, the form asks to read the new one instead of keeping the wrong words.
    """

    granted = forms.TypedChoiceField(
        label=_("Marketing consent"),
        choices=[("1", _("Granted")), ("0", _("Withdrawn"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    channel = forms.ChoiceField(
        label=_("Through"),
        choices=[
            (c.value, c.label)
            for c in ConsentChannel
            if c not in (ConsentChannel.DMS, ConsentChannel.API, ConsentChannel.SURVEY)
        ],
        initial=ConsentChannel.COUNTER,
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("For example: signed the paper form; asked on the phone to stop offers."),
    )
    text_shown = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)

    caption = _("Read this to the customer, or show it, before they answer:")

    def __init__(self, *args, consent_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.consent_text = consent_text
        self.fields["text_shown"].initial = consent_text
        self.posted_text = None
        if self.is_bound:  # kept to compare; the page shows (and posts again) the store's text as it is now
            name = self.add_prefix("text_shown")
            # a post without the field (not this page's form) is taken to have shown the text as it is now
            self.posted_text = self.data.get(name, consent_text)
            self.data = self.data.copy()
            self.data[name] = consent_text
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            HTML(
                '<figure class="border rounded bg-body-tertiary p-3 mb-3" id="consent-text" data-testid="consent-text">'
                '<figcaption class="small text-body-secondary mb-1">{{ form.caption }}</figcaption>'
                '<blockquote class="mb-0">{{ form.consent_text|linebreaksbr }}</blockquote></figure>'
            ),
            "granted",
            "channel",
            "note",
            "text_shown",
        )

    def clean(self):
        cleaned = super().clean()
        if (self.posted_text or "").strip() != self.consent_text.strip():
            raise ValidationError(
                _("The store's consent text has changed since this page was opened: read the text below again."),
                code="consent_text_changed",
            )
        cleaned["text_shown"] = self.consent_text
        return cleaned


class VehicleForm(forms.ModelForm):
    class Meta:
        model = Vehicle
        fields = [
            "plate",
            "vin",
            "brand",
            "model",
            "model_year",
            "fuel_type",
            "purchase_date",
            "warranty_end",
            "mileage_km",
        ]
        widgets = {"purchase_date": DATE, "warranty_end": DATE}

    def __init__(self, *args, dealership, **kwargs):
        super().__init__(*args, **kwargs)
        self.dealership = dealership
        self.fields["plate"].help_text = _("7 characters, 8 for new-energy plates, e.g. 粤B12345 or 粤BD12345.")
        self.fields["vin"].help_text = _("17 characters; the 9th is a check digit.")
        for name in ("plate", "vin"):
            self.fields[name].widget.attrs.update({"autocomplete": "off", "autocapitalize": "characters"})
        self.fields["mileage_km"].widget.attrs["min"] = 0
        self.fields["plate"].widget.attrs["autofocus"] = True
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Row(Column("plate", css_class="col-md-4"), Column("vin", css_class="col-md-8")),
            Row(
                Column("brand", css_class="col-md-4"),
                Column("model", css_class="col-md-4"),
                Column("model_year", css_class="col-md-2"),
                Column("fuel_type", css_class="col-md-2"),
            ),
            Row(
                Column("purchase_date", css_class="col-md-4"),
                Column("warranty_end", css_class="col-md-4"),
                Column("mileage_km", css_class="col-md-4"),
            ),
        )

    def clean_plate(self):
        return normalize_plate(self.cleaned_data.get("plate") or "")

    def clean_vin(self):
        vin = normalize_vin(self.cleaned_data.get("vin") or "")
        taken = Vehicle.objects.filter(dealership=self.dealership, vin=vin).select_related("owner")
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        other = taken.first()
        if other is not None:
            raise ValidationError(
                _("VIN %(vin)s is already on file (owner: %(owner)s)."), params={"vin": vin, "owner": other.owner}
            )
        return vin


class VisitForm(forms.ModelForm):
    """Record a visit (repair order) at the counter for one of the customer's vehicles."""

    class Meta:
        model = ServiceVisit
        fields = [
            "vehicle",
            "ro_number",
            "visit_type",
            "opened_on",
            "closed_on",
            "mileage_km",
            "labor_amount",
            "parts_amount",
            "total_amount",
            "payer",
            "advisor_name",
            "campaign_code",
        ]
        widgets = {"opened_on": DATE, "closed_on": DATE}

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vehicle"].queryset = customer.vehicles.order_by("plate", "vin")
        self.fields["vehicle"].empty_label = None
        self.fields["vehicle"].label_from_instance = lambda v: f"{v.plate or '—'} · {v.model} · {v.vin}"
        for name in ("labor_amount", "parts_amount", "total_amount"):
            field = self.fields[name]
            field.required = False
            field.min_value = ZERO
            field.validators.append(MinValueValidator(ZERO))
            field.widget.attrs.update({"min": "0", "step": "0.01", "inputmode": "decimal"})
        self.fields["total_amount"].help_text = _("Leave blank for labour + parts.")
        self.fields["advisor_name"].help_text = _("Leave blank for yourself.")
        self.fields["mileage_km"].widget.attrs["min"] = 0
        self.fields["ro_number"].widget.attrs.update({"autofocus": True, "autocomplete": "off"})
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Row(Column("vehicle", css_class="col-md-8"), Column("mileage_km", css_class="col-md-4")),
            Row(
                Column("ro_number", css_class="col-md-4"),
                Column("visit_type", css_class="col-md-4"),
                Column("payer", css_class="col-md-4"),
            ),
            Row(Column("opened_on", css_class="col-md-6"), Column("closed_on", css_class="col-md-6")),
            Row(
                Column("labor_amount", css_class="col-md-4"),
                Column("parts_amount", css_class="col-md-4"),
                Column("total_amount", css_class="col-md-4"),
            ),
            Row(Column("advisor_name", css_class="col-md-6"), Column("campaign_code", css_class="col-md-6")),
        )

    def clean_ro_number(self):
        return (self.cleaned_data.get("ro_number") or "").strip()

    def clean_campaign_code(self):
        return (self.cleaned_data.get("campaign_code") or "").strip().upper()

    def clean(self):
        data = super().clean()
        for name in ("labor_amount", "parts_amount"):
            if data.get(name) is None and name not in self.errors:
                data[name] = ZERO
        return data  # the dates are checked by ServiceVisit.clean(), for every way in

    def service_data(self) -> dict:
        """The cleaned fields for visit_create (vehicle apart)."""
        return {k: v for k, v in self.cleaned_data.items() if k != "vehicle"}
