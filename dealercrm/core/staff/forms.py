"""Forms of the administration pages: they only map input; the services validate and write."""

import zoneinfo

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..forms import fields_only_helper
from ..roles import Role
from . import services


class _Form(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only_helper()


class DealershipsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class StaffEditForm(_Form):
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    dealerships = DealershipsField(
        label=_("Dealerships"),
        queryset=None,
        required=False,  # the service says when none is too few (a user of other dealerships may leave yours)
        help_text=_("Among your dealerships; the user's other dealerships stay as they are."),
    )

    def __init__(self, *args, dealerships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dealerships"].queryset = dealerships


class StaffCreateForm(StaffEditForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("What they log in with: letters, digits and @ . + - _ only."),
    )
    password = forms.CharField(
        label=_("Initial password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )
    field_order = ["username", "display_name", "role", "dealerships", "password"]


class PasswordForm(_Form):
    password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )
    password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class TokenForm(_Form):
    user = forms.ModelChoiceField(
        label=_("Acts as"),
        queryset=None,
        help_text=_("The token may do what this user's role may do. A REST client is usually a user of its own."),
    )
    name = forms.CharField(
        label=pgettext_lazy("API token", "Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. the DMS sync or the BI tool."),
    )
    days = forms.TypedChoiceField(
        label=_("Expires after"),
        coerce=int,
        choices=[(days, _("%(days)d days") % {"days": days}) for days in sorted(services.TOKEN_EXPIRY_DAYS)],
        initial=services.TOKEN_EXPIRY_DAYS[0],
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda user: f"{user} ({user.username} · {user.get_role_display()})"


class DealershipSettingsForm(_Form):
    name = forms.CharField(label=pgettext_lazy("dealership", "Name"), max_length=100)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=[(zone, zone) for zone in sorted(zoneinfo.available_timezones())],
        help_text=_("The store's days (today, a campaign's last day, a coupon's expiry) follow it."),
    )
    plate_prefix = forms.CharField(
        label=_("Plate prefix"),
        max_length=2,
        required=False,
        help_text=_("Plate prefix of the store's region, e.g. 粤B."),
    )
    consent_text = forms.CharField(
        label=_("Consent wording"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "What a customer is shown or read out before agreeing to offers by text, call, WeChat or e-mail; it is "
            "kept with every consent as its proof. Name the store, what is used (name, mobile number, service "
            "records), what for, and how to withdraw. Leave it empty for the standard wording."
        ),
    )


class AccessLogFilterForm(_Form):
    """The access log's filters (the page, its export and the API read the same query string)."""

    user = forms.ModelChoiceField(label=_("User"), queryset=None, required=False, empty_label=_("Anyone"))
    customer = forms.CharField(
        label=_("Customer"),
        max_length=32,
        required=False,
        help_text=_("Customer number or id (an erased customer is found by id only)."),
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        from ..models import AccessEvent

        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda user: f"{user} ({user.username})"
        self.fields["kind"].choices = [("", _("Any kind")), *AccessEvent.Kind.choices]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error(
                "date_to",
                forms.ValidationError(
                    _("The end date (%(end)s) is before the start date (%(start)s): swap them or change one.")
                    % {"start": start.isoformat(), "end": end.isoformat()},
                    code="reversed_range",
                ),
            )
        return data

    def filters(self) -> dict:
        """The cleaned filters as ``selectors.access_log_filtered`` takes them."""
        data = self.cleaned_data
        return {
            "user": data.get("user"),
            "customer": (data.get("customer") or "").strip(),
            "kind": data.get("kind") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
