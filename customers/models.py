"""Customers, vehicles, service visits and appointments of one dealership."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dealercrm.core.audit import AuditedHistory
from dealercrm.core.fields import EncryptedPhoneField
from dealercrm.core.models import Dealership

from .validators import (
    BIRTHDAY_NOT_FUTURE,
    CONSENT_CLOCK_SKEW,
    CONSENT_IN_RANGE,
    PURCHASE_NOT_FUTURE,
    VISIT_CLOSED_BEFORE_OPENED,
    VISIT_NOT_FUTURE,
    validate_plate,
    validate_vin,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


def _check_dates(instance, dealership_id, rules: dict) -> None:
    """Raise the field errors of ``rules`` ({field: DateRule}) that ``instance``'s dates break, on its
    dealership's today. Skipped while the record has no dealership yet (a form's unsaved instance: the service
    checks it again with its dealership)."""
    if not dealership_id or not any(getattr(instance, f) for f in rules):
        return
    today = instance.dealership.local_date()
    errors = {}
    for field, rule in rules.items():
        error = rule.error(getattr(instance, field), today=today)
        if error is not None:
            errors[field] = error
    if errors:
        raise ValidationError(errors)


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")


class ConsentChannel(models.TextChoices):
    COUNTER = "counter", _("At the counter")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    DMS = "dms", _("DMS import")
    API = "api", _("API")
    SURVEY = "survey", _("Survey")


class MemberTier(models.TextChoices):
    BRONZE = "bronze", _("Bronze")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    DIAMOND = "diamond", _("Diamond")


class FuelType(models.TextChoices):
    ICE = "ICE", _("Petrol/diesel")
    HEV = "HEV", _("Hybrid")
    PHEV = "PHEV", _("Plug-in hybrid")
    EREV = "EREV", _("Range extender")
    EV = "EV", _("Electric")


class VisitType(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    REPAIR = "repair", _("Mechanical repair")
    BODYWORK = "bodywork", _("Bodywork / accident")
    WARRANTY = "warranty", _("Warranty")
    OTHER = "other", _("Other")


class Payer(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    INSURANCE = "insurance", _("Insurance")
    WARRANTY = "warranty", _("Warranty")
    INTERNAL = "internal", _("Internal")


class Customer(models.Model):
    # Indexed by the composite indexes and unique constraints that lead with it (as below for the others).
    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="customers", verbose_name=_("dealership"), db_index=False
    )
    customer_no = models.CharField(_("customer number"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    # Encrypted (customers.phones): empty only once the customer is erased; every form and the API require it.
    phone = EncryptedPhoneField(_("phone"), region="CN", null=True, blank=True)
    phone_hash = models.CharField(_("phone lookup hash"), max_length=32, blank=True, editable=False)
    phone_last4 = models.CharField(_("last four digits of the phone"), max_length=4, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE
    )
    member_tier = models.CharField(_("member tier"), max_length=10, choices=MemberTier.choices, blank=True)
    points = models.PositiveIntegerField(_("points"), default=0)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    consent_changed_at = models.DateTimeField(_("consent changed at"), null=True, blank=True)
    consent_channel = models.CharField(_("consent channel"), max_length=10, choices=ConsentChannel.choices, blank=True)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    flag_wrong_number = models.BooleanField(_("wrong number"), default=False)
    flag_bounced = models.BooleanField(_("bounced message"), default=False)
    flag_possible_duplicate = models.BooleanField(_("possible duplicate"), default=False)
    #: replied "T" to a marketing text: SMS marketing stops, other channels keep the consent given
    sms_opt_out = models.BooleanField(_("opted out of marketing texts"), default=False)
    email = models.EmailField(_("email"), blank=True)
    wechat_openid = models.CharField(_("WeChat OpenID"), max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    #: erased on the customer's request or after the retention review: identity gone, figures kept
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["customer_no"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "customer_no"], name="uniq_customer_no_per_dealership"),
        ]
        indexes = [
            models.Index(fields=["dealership", "phone_hash"], name="customer_phone_hash_idx"),
            models.Index(fields=["dealership", "phone_last4"], name="customer_phone_last4_idx"),
            models.Index(fields=["dealership", "name"], name="customer_name_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.customer_no})"

    def save(self, *args, **kwargs):
        # The phone's hash and last four digits follow the number on every save (customers.phones).
        from .phones import hash_of, last4_of

        self.phone_hash, self.phone_last4 = hash_of(self.phone), last4_of(self.phone)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "phone" in update_fields:
            kwargs["update_fields"] = {*update_fields, "phone_hash", "phone_last4"}
        super().save(*args, **kwargs)

    def clean(self):
        _check_dates(self, self.dealership_id, {"birthday": BIRTHDAY_NOT_FUTURE})

    @property
    def can_be_marketed(self) -> bool:
        """Whether a marketing call may be made to them (``customers.contact``)."""
        from .contact import MARKETING, may_contact

        return may_contact(self, MARKETING, "call")


class ConsentEvent(models.Model):
    """The PIPL record of marketing consent: who, when, through which channel, granted or withdrawn."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consent_events", verbose_name=_("customer")
    )
    granted = models.BooleanField(_("granted"))
    occurred_at = models.DateTimeField(_("occurred at"))
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("recorded by")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    # The proof: the words the customer was shown or read (the store's consent text at the time), and where the
    # event came from beyond its channel: the DMS import, its file and line; the survey, text or call behind it.
    text_shown = models.TextField(_("text shown"), blank=True)
    import_run = models.ForeignKey(
        "ImportRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consent_events",
        verbose_name=_("DMS import"),
    )
    source_file = models.CharField(_("source file"), max_length=255, blank=True)
    source_line = models.PositiveIntegerField(_("line"), null=True, blank=True)
    #: what else identifies the source: a survey's id, the SMS reply's event id, a call's id
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["-occurred_at", "-id"]

    def __str__(self):
        return f"{self.customer_id} {'+' if self.granted else '-'} {self.occurred_at:%Y-%m-%d}"

    def clean(self):
        if self.occurred_at is None or not self.customer_id:
            return
        dealership = self.customer.dealership
        when = self.occurred_at if timezone.is_aware(self.occurred_at) else timezone.make_aware(self.occurred_at)
        error = CONSENT_IN_RANGE.error(dealership.local_date(when), today=dealership.local_date())
        if error is None and when > timezone.now() + CONSENT_CLOCK_SKEW:
            error = ValidationError(CONSENT_IN_RANGE.message, code=CONSENT_IN_RANGE.code)
        if error is not None:
            raise ValidationError({"occurred_at": error})


class Vehicle(models.Model):
    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("dealership"), db_index=False
    )
    vin = models.CharField(_("VIN"), max_length=17, validators=[validate_vin])
    plate = models.CharField(_("plate"), max_length=8, blank=True, validators=[validate_plate])
    brand = models.CharField(_("brand"), max_length=40, blank=True)
    model = models.CharField(_("model"), max_length=60)
    model_year = models.PositiveSmallIntegerField(
        _("model year"), null=True, blank=True, validators=[MinValueValidator(1950), MaxValueValidator(2100)]
    )
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    fuel_type = models.CharField(_("fuel type"), max_length=4, choices=FuelType.choices, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    mileage_km = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    owner = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("current owner")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["plate", "vin"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "vin"], name="uniq_vin_per_dealership"),
        ]
        indexes = [models.Index(fields=["dealership", "plate"], name="vehicle_plate_idx")]

    def __str__(self):
        return f"{self.plate or self.vin} {self.model}"

    def clean(self):
        _check_dates(self, self.dealership_id, {"purchase_date": PURCHASE_NOT_FUTURE})


class VehicleOwnership(models.Model):
    """Who owned a vehicle when; the open row (``ended_on`` empty) is the current owner."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="ownerships", verbose_name=_("vehicle"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="ownerships", verbose_name=_("customer")
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("ownership")
        verbose_name_plural = _("ownership history")
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(ended_on__isnull=True), name="one_current_owner_per_vehicle"
            ),
        ]

    def __str__(self):
        return f"{self.vehicle_id} → {self.customer_id} {self.started_on:%Y-%m-%d}"


class MileageReading(models.Model):
    class Source(models.TextChoices):
        VISIT = "visit", _("Service visit")
        IMPORT = "import", _("DMS import")
        COUNTER = "counter", _("Counter")

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="readings", verbose_name=_("vehicle"))
    read_on = models.DateField(_("date"))
    mileage_km = models.PositiveIntegerField(_("mileage (km)"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)

    class Meta:
        verbose_name = _("mileage reading")
        verbose_name_plural = _("mileage readings")
        ordering = ["-read_on"]
        constraints = [
            models.UniqueConstraint(fields=["vehicle", "read_on", "mileage_km"], name="uniq_mileage_reading"),
        ]

    def __str__(self):
        return f"{self.mileage_km} km {self.read_on:%Y-%m-%d}"


class ServiceVisit(models.Model):
    """A repair order (工单), dated by its opened date."""

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="visits", verbose_name=_("dealership"), db_index=False
    )
    ro_number = models.CharField(_("RO number"), max_length=32)
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="visits", verbose_name=_("vehicle"), db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="visits", verbose_name=_("customer"), db_index=False
    )
    opened_on = models.DateField(_("opened"))
    closed_on = models.DateField(_("closed"), null=True, blank=True)
    mileage_km = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    visit_type = models.CharField(_("visit type"), max_length=12, choices=VisitType.choices)
    labor_amount = models.DecimalField(_("labour"), **MONEY, default=ZERO)
    parts_amount = models.DecimalField(_("parts"), **MONEY, default=ZERO)
    total_amount = models.DecimalField(_("total"), **MONEY)
    payer = models.CharField(_("payer"), max_length=10, choices=Payer.choices, default=Payer.CUSTOMER)
    advisor_name = models.CharField(_("service advisor"), max_length=60, blank=True)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("advisor account"),
    )
    campaign_code = models.CharField(_("campaign code"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("service visit")
        verbose_name_plural = _("service visits")
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "ro_number"], name="uniq_ro_per_dealership"),
            models.CheckConstraint(
                condition=Q(labor_amount__gte=0) & Q(parts_amount__gte=0) & Q(total_amount__gte=0),
                name="visit_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=models.F("opened_on")),
                name="visit_closed_after_opened",
            ),
        ]
        indexes = [
            models.Index(fields=["dealership", "opened_on"], name="visit_date_idx"),
            models.Index(fields=["customer", "opened_on"], name="visit_customer_date_idx"),
            models.Index(fields=["vehicle", "opened_on"], name="visit_vehicle_date_idx"),
            models.Index(fields=["dealership", "campaign_code"], name="visit_campaign_idx"),
        ]

    def __str__(self):
        return f"{self.ro_number} {self.opened_on:%Y-%m-%d}"

    def clean(self):
        if self.opened_on and self.closed_on and self.closed_on < self.opened_on:
            message = _("A visit cannot close before it opened.")
            raise ValidationError({"closed_on": ValidationError(message, code=VISIT_CLOSED_BEFORE_OPENED)})
        _check_dates(self, self.dealership_id, {"opened_on": VISIT_NOT_FUTURE})


class Appointment(models.Model):
    class Source(models.TextChoices):
        CAMPAIGN = "campaign", _("Campaign call")
        FOLLOWUP = "followup", _("Follow-up")
        COUNTER = "counter", _("Counter")
        API = "api", _("API")

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        ARRIVED = "arrived", _("Arrived")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("dealership"), db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="appointments", verbose_name=_("customer")
    )
    vehicle = models.ForeignKey(
        Vehicle,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("vehicle"),
    )
    date = models.DateField(_("date"))
    time_slot = models.CharField(_("time slot"), max_length=20, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.COUNTER)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["date", "time_slot", "id"]
        indexes = [models.Index(fields=["dealership", "date", "status"], name="appointment_day_idx")]

    def __str__(self):
        return f"{self.customer} {self.date:%Y-%m-%d}"


class ImportRun(models.Model):
    """One DMS import: who, when, which files, its progress, the outcome and the report. The audit record of bulk
    writes (the history rows it writes name it: ``history_change_reason = "import #<id>"``).

    A page or API upload creates it ``queued`` and a Celery task runs it (``running``, with its progress
    counters), ending ``succeeded`` (written, or checked for a dry run), ``refused`` (a bad row or file: nothing
    written) or ``failed`` (stopped by an error of ours: nothing written either). ``report`` then holds the
    ``ImportReport`` (``customers.importing.report.ImportResult.as_dict``)."""

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("import status", "Queued")
        RUNNING = "running", pgettext_lazy("import status", "Running")
        SUCCEEDED = "succeeded", pgettext_lazy("import status", "Done")
        REFUSED = "refused", pgettext_lazy("import status", "Refused")
        FAILED = "failed", pgettext_lazy("import status", "Failed")

    FINISHED = (Status.SUCCEEDED, Status.REFUSED, Status.FAILED)

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="import_runs", verbose_name=_("dealership")
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("started by")
    )
    source = models.CharField(_("source"), max_length=10)  # command / page / api
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    dry_run = models.BooleanField(_("check only"), default=False)
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    upload = models.CharField(_("uploaded files"), max_length=32, blank=True)  # customers.importing.uploads token
    language = models.CharField(_("language"), max_length=10, blank=True)  # of the report's messages
    files = models.JSONField(_("files"), default=dict)
    counts = models.JSONField(_("counts"), default=dict)
    errors = models.JSONField(_("errors"), default=list)
    report = models.JSONField(_("report"), default=dict, blank=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("DMS import")
        verbose_name_plural = _("DMS imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.dealership_id} {self.created_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
