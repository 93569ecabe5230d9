"""Forms of the follow-up pages: the touch list's filters, the overview's period, message templates and the
store's follow-up settings. They validate and shape input for the services (``followups.managing``); they
never save anything themselves."""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from customers.models import VisitType
from dealercrm.core.forms import fields_only_helper
from dealercrm.core.models import User

from .models import FollowupPolicy, MessageTemplate, Touch, TouchChannel
from .policy import DEFAULT_BUSINESS_DAYS, DEFAULT_FOLLOWUP_VISIT_TYPES

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
#: the channels that may have their own sending hours (a call is made by an agent, in the store's hours)
WINDOW_CHANNELS = (TouchChannel.SMS, TouchChannel.WECHAT, TouchChannel.EMAIL, TouchChannel.CALL)


class TouchFilter(filters.FilterSet):
    """The touch list's filters (the page and the API): kind, status, channel, agent, due dates, customer."""

    kind = filters.ChoiceFilter(choices=Touch.Kind.choices, label=_("Kind"))
    status = filters.ChoiceFilter(choices=Touch.Status.choices, label=_("Status"))
    channel = filters.ChoiceFilter(choices=TouchChannel.choices, label=_("Channel"))
    agent = filters.ModelChoiceFilter(
        field_name="assignee", queryset=User.objects.none(), label=_("Agent"), empty_label=_("Any agent")
    )
    due_from = filters.DateFilter(method="filter_due_from", label=_("Due from"), widget=DATE)
    due_until = filters.DateFilter(method="filter_due_until", label=_("Due until"), widget=DATE)
    customer = filters.NumberFilter(field_name="customer_id", label=_("Customer id"), widget=forms.HiddenInput)

    class Meta:
        model = Touch
        fields = []

    def __init__(self, *args, dealership=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.dealership = dealership
        if dealership is not None:
            self.filters["agent"].queryset = User.objects.filter(memberships__dealership=dealership).order_by(
                "username"
            )
        bootstrap_widgets(self.form)

    def _bound(self, day: dt.date, days: int = 0) -> dt.datetime:
        zone = self.dealership.zone if self.dealership is not None else None
        return dt.datetime.combine(day + dt.timedelta(days=days), dt.time.min, tzinfo=zone)

    def filter_due_from(self, queryset, name, value):
        return queryset.filter(due_at__gte=self._bound(value))

    def filter_due_until(self, queryset, name, value):
        return queryset.filter(due_at__lt=self._bound(value, 1))


SMALL_DATE = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d")


def bootstrap_widgets(form: forms.Form) -> None:
    """Bootstrap's classes on a form drawn field by field (the filters and the period, without crispy)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        css = "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
        widget.attrs["class"] = css


class PeriodForm(forms.Form):
    """The overview's period: local days, both included."""

    start = forms.DateField(label=_("From"), widget=SMALL_DATE)
    end = forms.DateField(label=_("To"), widget=SMALL_DATE)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The period must start before it ends."), code="period_order")
            if (end - start).days > 366:
                raise forms.ValidationError(_("Choose a period of at most a year."), code="period_too_long")
        return data


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["kind", "channel", "language", "subject", "body", "signature", "provider_template_code", "active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Row(Column("kind"), Column("channel"), Column("language")),
            "subject",
            "body",
            Row(Column("signature"), Column("provider_template_code")),
            "active",
        )

    def _post_clean(self):
        # The service checks the text and the uniqueness (and says so on the form); the form only shapes it.
        pass


def _time(value: str | None, default: dt.time | None = None) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else default


class FollowupPolicyForm(forms.Form):
    send_from = forms.TimeField(label=_("Send from"), widget=TIME)
    send_until = forms.TimeField(label=_("Send until"), widget=TIME)
    marketing_cap = forms.IntegerField(label=_("Marketing touches allowed per customer"), min_value=0, max_value=100)
    cap_days = forms.IntegerField(label=_("in how many days"), min_value=1, max_value=365)
    when_capped = forms.ChoiceField(label=_("A touch over the cap"), choices=FollowupPolicy.WhenCapped.choices)
    followup_visit_types = forms.MultipleChoiceField(
        label=_("Visits followed up on day 7, 15 and 30"),
        choices=VisitType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    reminder_message_days = forms.IntegerField(
        label=_("Maintenance reminder by message: days before due"), min_value=0, max_value=90
    )
    reminder_call_days = forms.IntegerField(
        label=_("Maintenance reminder by call: days before due"), min_value=0, max_value=90
    )
    complaint_response_hours = forms.IntegerField(
        label=_("Complaints: first response within (business hours)"), min_value=1, max_value=240
    )
    complaint_resolution_days = forms.IntegerField(
        label=_("Complaints: customer told how it is handled within (working days)"), min_value=1, max_value=60
    )
    business_from = forms.TimeField(label=_("Business hours from"), widget=TIME)
    business_until = forms.TimeField(label=_("Business hours until"), widget=TIME)
    business_days = forms.TypedMultipleChoiceField(
        label=_("Working days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, policy: FollowupPolicy, **kwargs):
        windows = policy.channel_windows or {}
        initial = {
            "send_from": policy.send_from,
            "send_until": policy.send_until,
            "marketing_cap": policy.marketing_cap,
            "cap_days": policy.cap_days,
            "when_capped": policy.when_capped,
            "followup_visit_types": list(policy.followup_visit_types or DEFAULT_FOLLOWUP_VISIT_TYPES),
            "reminder_message_days": policy.reminder_message_days,
            "reminder_call_days": policy.reminder_call_days,
            "complaint_response_hours": policy.complaint_response_hours,
            "complaint_resolution_days": policy.complaint_resolution_days,
            "business_from": policy.business_from,
            "business_until": policy.business_until,
            "business_days": list(policy.business_days or DEFAULT_BUSINESS_DAYS),
        }
        for channel in WINDOW_CHANNELS:
            window = windows.get(channel)
            initial[f"{channel}_from"] = _time(window[0]) if window else None
            initial[f"{channel}_until"] = _time(window[1]) if window else None
        kwargs["initial"] = {**initial, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        labels = dict(TouchChannel.choices)
        for channel in WINDOW_CHANNELS:
            self.fields[f"{channel}_from"] = forms.TimeField(
                label=_("%(channel)s from") % {"channel": labels[channel]}, required=False, widget=TIME
            )
            self.fields[f"{channel}_until"] = forms.TimeField(
                label=_("%(channel)s until") % {"channel": labels[channel]}, required=False, widget=TIME
            )
        self.helper = fields_only_helper()
        self.helper.layout = Layout(
            Fieldset(_("Sending hours (the store's time zone)"), Row(Column("send_from"), Column("send_until"))),
            Fieldset(
                _("Sending hours per channel (empty: the hours above)"),
                *[Row(Column(f"{c}_from"), Column(f"{c}_until")) for c in WINDOW_CHANNELS],
            ),
            Fieldset(_("Marketing cap"), Row(Column("marketing_cap"), Column("cap_days"), Column("when_capped"))),
            Fieldset(
                _("Follow-ups and reminders"),
                "followup_visit_types",
                Row(Column("reminder_message_days"), Column("reminder_call_days")),
            ),
            Fieldset(
                _("Complaints and business hours"),
                Row(Column("complaint_response_hours"), Column("complaint_resolution_days")),
                Row(Column("business_from"), Column("business_until")),
                "business_days",
            ),
        )

    def clean(self):
        data = super().clean()
        for channel in WINDOW_CHANNELS:
            start, end = data.get(f"{channel}_from"), data.get(f"{channel}_until")
            if bool(start) != bool(end):
                self.add_error(f"{channel}_until", _("Give both ends of the hours, or neither."))
        return data

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        windows = {}
        for channel in WINDOW_CHANNELS:
            start, end = data.pop(f"{channel}_from", None), data.pop(f"{channel}_until", None)
            if start and end:
                windows[str(channel)] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
        data["channel_windows"] = windows
        data["followup_visit_types"] = list(data["followup_visit_types"])
        data["business_days"] = sorted(data["business_days"])
        return data
