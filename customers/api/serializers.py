"""Serializers of the customers API: they validate input; the views hand it to the services.

No serializer saves: ``create``/``update`` live in the views, which call
``customers.services``. Related records given by id are looked up among the
current dealership's records only (``context["dealership"]``), so that another
store's id reads "not found in this dealership", like an id that does not exist.
"""

from django.utils.translation import gettext_lazy as _
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from dealercrm.core.privacy import mask_phone

from .. import selectors
from ..consent import TEXT_MAX_LENGTH
from ..models import (
    Appointment,
    ConsentChannel,
    ConsentEvent,
    Customer,
    FuelType,
    ServiceVisit,
    Vehicle,
    VisitType,
)
from ..validators import normalize_plate, normalize_vin, plate_error, vin_error

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0}


NOT_HERE = {
    Customer: _("No customer with id {pk_value} in this dealership."),
    Vehicle: _("No vehicle with id {pk_value} in this dealership."),
}


def _related_field(model, **kwargs):
    """A primary-key field whose queryset is set per request by ``DealershipScopedSerializer``.

    An id of another dealership reads exactly like an id that does not exist.
    """
    kwargs.setdefault("label", model._meta.verbose_name)
    return serializers.PrimaryKeyRelatedField(
        queryset=model.objects.none(),
        error_messages={"does_not_exist": NOT_HERE[model], "incorrect_type": _("Give the id as a number.")},
        **kwargs,
    )


def _visit_label(field):
    return ServiceVisit._meta.get_field(field).verbose_name


class DealershipScopedSerializer(serializers.ModelSerializer):
    """Scopes the querysets of related-id fields to ``context["dealership"]``."""

    #: field name → selector taking the dealership
    scoped_fields: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dealership = self.context.get("dealership")
        for name, selector in self.scoped_fields.items():
            field = self.fields.get(name)
            if field is not None and not field.read_only:
                field.queryset = selector(dealership=dealership) if dealership else field.queryset.model.objects.none()

    @property
    def dealership(self):
        return self.context["dealership"]

    def _unique(self, queryset, message):
        if self.instance is not None:
            queryset = queryset.exclude(pk=self.instance.pk)
        if queryset.exists():
            raise serializers.ValidationError(message, code="unique")


class MaskedPhoneField(PhoneNumberField):
    """A customer's phone as the API shows it: masked (``138****5678``), in full (E.164) only when the view put
    ``reveal_phone`` in the context: the caller asked for it (``?reveal=phone``), may see it, and the reveal was
    logged (``customers.reveal``). Written in full, as ever."""

    def to_representation(self, value):
        if self.context.get("reveal_phone"):
            return super().to_representation(value)
        return mask_phone(value)


class RevealedPhoneSerializer(serializers.Serializer):
    phone = serializers.CharField(help_text=_("In E.164, e.g. +8613812345678."))
    national = serializers.CharField(help_text=_("As dialled at home, e.g. 13812345678."))


class CustomerSummarySerializer(serializers.ModelSerializer):
    phone = MaskedPhoneField(read_only=True, help_text=_("Masked: 138****5678."))

    class Meta:
        model = Customer
        fields = ["id", "customer_no", "name", "phone"]
        read_only_fields = fields


class CustomerSerializer(DealershipScopedSerializer):
    phone = MaskedPhoneField(
        region="CN",
        help_text=_(
            "Written in full; read masked (138****5678) unless the customer is read with ?reveal=phone by a role "
            "that may see it (each such read is logged)."
        ),
    )
    marketing_consent = serializers.BooleanField(
        required=False,
        help_text=_(
            "On creation, records the customer's consent as given through the API. "
            "Afterwards it changes only through the consent endpoint, which keeps the history."
        ),
    )
    gender_display = serializers.CharField(source="get_gender_display", read_only=True)
    preferred_channel_display = serializers.CharField(source="get_preferred_channel_display", read_only=True)
    member_tier_display = serializers.CharField(source="get_member_tier_display", read_only=True)
    consent_channel_display = serializers.CharField(source="get_consent_channel_display", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "customer_no",
            "name",
            "phone",
            "gender",
            "gender_display",
            "birthday",
            "city",
            "preferred_channel",
            "preferred_channel_display",
            "member_tier",
            "member_tier_display",
            "points",
            "marketing_consent",
            "consent_changed_at",
            "consent_channel",
            "consent_channel_display",
            "do_not_contact",
            "flag_wrong_number",
            "flag_bounced",
            "flag_possible_duplicate",
            "notes",
            "erased_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "consent_changed_at",
            "consent_channel",
            "flag_possible_duplicate",
            "erased_at",
            "created_at",
            "updated_at",
        ]

    def validate_customer_no(self, value):
        value = value.strip()
        self._unique(
            selectors.customer_list(dealership=self.dealership).filter(customer_no=value),
            _("Customer number %(no)s already exists.") % {"no": value},
        )
        return value

    def validate_marketing_consent(self, value):
        if self.instance is not None and value != self.instance.marketing_consent:
            raise serializers.ValidationError(
                _("Record a change of consent through the customer's consent endpoint, which keeps its history.")
            )
        return value


class ConsentEventSerializer(serializers.ModelSerializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    channel_display = serializers.CharField(source="get_channel_display", read_only=True)
    occurred_at = serializers.DateTimeField(
        required=False, help_text=_("When the customer gave or withdrew consent; defaults to now.")
    )
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    text_shown = serializers.CharField(
        required=False,
        allow_blank=False,
        max_length=TEXT_MAX_LENGTH,
        help_text=_(
            "The words the customer was shown or read before answering, kept as the proof; defaults to the "
            "store's consent text."
        ),
    )
    reference = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=_("Your own reference of this consent (a form's or a session's id), kept with it."),
    )

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "granted",
            "channel",
            "channel_display",
            "occurred_at",
            "note",
            "text_shown",
            "reference",
            "import_run",
            "source_file",
            "source_line",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = ["import_run", "source_file", "source_line", "created_at"]

    def validate_text_shown(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("Give the text the customer was shown, or leave the field out."))
        return value


class VehicleSerializer(DealershipScopedSerializer):
    scoped_fields = {"owner": selectors.customer_list}

    vin = serializers.CharField(help_text=_("17 characters, with a valid check digit (9th character)."))
    plate = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Mainland plate, e.g. 粤B12345 or 粤BD12345 (new energy).")
    )
    owner = _related_field(Customer, help_text=_("Id of the current owner, a customer of this dealership."))
    owner_summary = CustomerSummarySerializer(source="owner", read_only=True)
    fuel_type = serializers.ChoiceField(choices=FuelType.choices, required=False, allow_blank=True)
    fuel_type_display = serializers.CharField(source="get_fuel_type_display", read_only=True)

    class Meta:
        model = Vehicle
        fields = [
            "id",
            "vin",
            "plate",
            "brand",
            "model",
            "model_year",
            "purchase_date",
            "fuel_type",
            "fuel_type_display",
            "warranty_end",
            "mileage_km",
            "owner",
            "owner_summary",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_vin(self, value):
        vin = normalize_vin(value)
        error = vin_error(vin)
        if error:
            raise serializers.ValidationError(error, code="invalid_vin")
        self._unique(
            selectors.vehicle_list(dealership=self.dealership).filter(vin=vin),
            _("VIN %(vin)s is already on file.") % {"vin": vin},
        )
        return vin

    def validate_plate(self, value):
        plate = normalize_plate(value)
        if plate:
            error = plate_error(plate)
            if error:
                raise serializers.ValidationError(error, code="invalid_plate")
        return plate


class VisitSerializer(DealershipScopedSerializer):
    scoped_fields = {"vehicle": selectors.vehicle_list, "customer": selectors.customer_list}

    vehicle = _related_field(Vehicle, help_text=_("Id of a vehicle of this dealership; fixed once recorded."))
    customer = _related_field(
        Customer,
        required=False,
        help_text=_("Id of the customer who brought the vehicle; defaults to its current owner; fixed once recorded."),
    )
    vehicle_plate = serializers.CharField(source="vehicle.plate", read_only=True)
    vehicle_vin = serializers.CharField(source="vehicle.vin", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    visit_type_display = serializers.CharField(source="get_visit_type_display", read_only=True)
    payer_display = serializers.CharField(source="get_payer_display", read_only=True)
    labor_amount = serializers.DecimalField(**MONEY, required=False, label=_visit_label("labor_amount"))
    parts_amount = serializers.DecimalField(**MONEY, required=False, label=_visit_label("parts_amount"))
    total_amount = serializers.DecimalField(
        **MONEY,
        required=False,
        label=_visit_label("total_amount"),
        help_text=_("Defaults to labour + parts when those are given."),
    )

    class Meta:
        model = ServiceVisit
        fields = [
            "id",
            "ro_number",
            "vehicle",
            "vehicle_plate",
            "vehicle_vin",
            "customer",
            "customer_name",
            "opened_on",
            "closed_on",
            "mileage_km",
            "visit_type",
            "visit_type_display",
            "labor_amount",
            "parts_amount",
            "total_amount",
            "payer",
            "payer_display",
            "advisor_name",
            "campaign_code",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_ro_number(self, value):
        value = value.strip()
        self._unique(
            selectors.visit_list(dealership=self.dealership).filter(ro_number=value),
            _("RO number %(ro)s is already on file.") % {"ro": value},
        )
        return value

    def validate(self, attrs):
        errors = {}
        if self.instance is not None:
            for name in ("vehicle", "customer"):
                if name in attrs and attrs[name].pk != getattr(self.instance, f"{name}_id"):
                    errors[name] = _("The vehicle and customer of a recorded visit cannot be changed.")
        if self.instance is None and not {"total_amount", "labor_amount", "parts_amount"} & attrs.keys():
            errors["total_amount"] = _("Give the total amount, or the labour and parts amounts.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AppointmentSerializer(DealershipScopedSerializer):
    scoped_fields = {"customer": selectors.customer_list, "vehicle": selectors.vehicle_list}

    customer = _related_field(Customer)
    vehicle = _related_field(Vehicle, required=False, allow_null=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    vehicle_plate = serializers.CharField(source="vehicle.plate", read_only=True, default=None)
    source = serializers.ChoiceField(choices=Appointment.Source.choices, default=Appointment.Source.API)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "customer",
            "customer_name",
            "vehicle",
            "vehicle_plate",
            "date",
            "time_slot",
            "source",
            "source_display",
            "status",
            "status_display",
            "note",
            "created_at",
        ]
        read_only_fields = ["status", "created_at"]


#: what the counter may mark an appointment as (``appointment_set_status`` checks the transition)
STATUS_CHANGES = [(value, label) for value, label in Appointment.Status.choices if value != Appointment.Status.BOOKED]


class AppointmentStatusSerializer(serializers.Serializer):
    """The status, and for ``arrived`` the visit it opens (``services.appointment_arrive``): every visit field
    may be left out (the day's next RO number, the appointment's vehicle, maintenance)."""

    status = serializers.ChoiceField(choices=STATUS_CHANGES)
    ro_number = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text=_("Arrived: the visit's RO number; empty: suggested."),
    )
    vehicle = serializers.PrimaryKeyRelatedField(
        queryset=Vehicle.objects.none(),
        required=False,
        allow_null=True,
        help_text=_("Arrived: the vehicle the customer came with; empty: the appointment's."),
        error_messages={"does_not_exist": NOT_HERE[Vehicle], "incorrect_type": _("Give the id as a number.")},
    )
    visit_type = serializers.ChoiceField(
        choices=VisitType.choices, required=False, help_text=_("Arrived: the visit's type; empty: maintenance.")
    )
    campaign_code = serializers.CharField(max_length=32, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dealership = self.context.get("dealership")
        if dealership is not None:
            self.fields["vehicle"].queryset = selectors.vehicle_list(dealership=dealership)


class VisitBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceVisit
        fields = ["id", "ro_number", "opened_on", "visit_type", "vehicle"]
        read_only_fields = fields


class AppointmentStatusResultSerializer(AppointmentSerializer):
    """The appointment after its status change, with the visit an arrival opened (null otherwise)."""

    visit = VisitBriefSerializer(read_only=True, allow_null=True, default=None)

    class Meta(AppointmentSerializer.Meta):
        fields = [*AppointmentSerializer.Meta.fields, "visit"]
