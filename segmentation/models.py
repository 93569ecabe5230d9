"""Segmentation: rule sets (versioned), runs, and each customer's and vehicle's result with its history.

A result row holds from the run that produced it (``valid_from``) until the
first later run of the dealership that found something different
(``valid_to``, empty while it still holds). A run writes rows only for what
changed, so storage grows with changes, not with customers × runs, and the
state at any run is the set of rows valid at it (``selectors.customer_segments_at``).

A customer's rates (maintenance visits and spend per year, repair ratio) are
not stored: they follow from the stored counts and amounts and the run's date
(``CustomerSegment.rates``), which keeps a row unchanged from one day's run to
the next while nothing happened.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import MONEY, Customer, Vehicle
from dealercrm.core.models import Dealership


class C3Group(models.TextChoices):
    PROFITABLE_LOYAL = "profitable_loyal", _("Profitable-loyal")
    SPLIT_LOYAL = "split_loyal", _("Split-loyal")
    HIGH_RISK = "high_risk", _("High-risk")
    HIGH_OPPORTUNITY = "high_opportunity", _("High-opportunity")
    HIGH_COST = "high_cost", _("High-cost")
    MINING = "mining", _("Mining")
    LOW_COST = "low_cost", _("Low-cost")
    MYSTERIOUS_OPPORTUNITY = "mysterious_opportunity", _("Mysterious-opportunity")


class Tier(models.TextChoices):
    A = "A", _("A · 3 or more visits a year")
    B = "B", _("B · 2 visits a year")
    C = "C", _("C · 1 visit a year")
    D = "D", _("D · lost, no visit in a year")


class ValueLayer(models.TextChoices):
    HIGH = "high", _("High value")
    MID = "mid", _("Mid value")
    POTENTIAL = "potential", _("Potential")


class AgeBand(models.TextChoices):
    UNDER_1 = "<1", _("under 1 year")
    Y1_2 = "1-2", _("1–2 years")
    Y2_3 = "2-3", _("2–3 years")
    Y3_5 = "3-5", _("3–5 years")
    OVER_5 = "5+", _("5 years or more")


class DueBasis(models.TextChoices):
    OWN = "own", _("its own maintenance interval")
    SCHEDULE = "schedule", _("the maintenance schedule")
    MILEAGE = "mileage", _("its daily mileage")


# (maintenance frequency, value, repair ratio), each High or Low -> group: SPEC "C3 groups".
C3_CELLS = ("HHH", "HHL", "LHH", "LHL", "HLH", "HLL", "LLH", "LLL")
DEFAULT_C3_MAPPING = {
    "HHH": C3Group.PROFITABLE_LOYAL.value,
    "HHL": C3Group.SPLIT_LOYAL.value,
    "LHH": C3Group.HIGH_RISK.value,
    "LHL": C3Group.HIGH_OPPORTUNITY.value,
    "HLH": C3Group.HIGH_COST.value,
    "HLL": C3Group.MINING.value,
    "LLH": C3Group.LOW_COST.value,
    "LLL": C3Group.MYSTERIOUS_OPPORTUNITY.value,
}


def default_c3_mapping() -> dict[str, str]:
    return dict(DEFAULT_C3_MAPPING)


class RuleSet(models.Model):
    """The rules of one dealership's segmentation, as one version; editing makes the next version.

    Defaults are SPEC "Segmentation". Validation lives in ``segmentation.rules``.
    """

    class ValueThreshold(models.TextChoices):
        MEDIAN = "median", _("Median of active customers")
        FIXED = "fixed", _("Fixed amount")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="rule_sets", verbose_name=_("dealership"), db_index=False
    )
    version = models.PositiveIntegerField(_("version"))
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    window_days = models.PositiveSmallIntegerField(
        _("look-back window (days)"), default=730, validators=[MinValueValidator(90), MaxValueValidator(1830)]
    )
    maintenance_threshold = models.DecimalField(
        _("maintenance visits per year counted as high"), max_digits=5, decimal_places=2, default=Decimal("2.00")
    )
    value_threshold_mode = models.CharField(
        _("value threshold"), max_length=10, choices=ValueThreshold.choices, default=ValueThreshold.MEDIAN
    )
    value_threshold_fixed = models.DecimalField(
        _("fixed spend per year counted as high"), **MONEY, null=True, blank=True
    )
    repair_ratio_threshold = models.DecimalField(
        _("repair share of spend counted as high"), max_digits=5, decimal_places=4, default=Decimal("0.5000")
    )
    c3_mapping = models.JSONField(_("C3 mapping"), default=default_c3_mapping)
    tier_a_min = models.PositiveSmallIntegerField(_("visits a year for tier A"), default=3)
    tier_b_min = models.PositiveSmallIntegerField(_("visits a year for tier B"), default=2)
    tier_c_min = models.PositiveSmallIntegerField(_("visits a year for tier C"), default=1)
    high_value_above = models.DecimalField(_("high value: lifetime spend above"), **MONEY, default=Decimal("30000.00"))
    high_value_visits = models.PositiveSmallIntegerField(_("high value: visits a year at least"), default=4)
    mid_value_from = models.DecimalField(_("mid value: lifetime spend from"), **MONEY, default=Decimal("10000.00"))
    mid_value_visits = models.PositiveSmallIntegerField(_("mid value: visits a year at least"), default=2)
    lapsed_days = models.PositiveSmallIntegerField(
        _("lapsed after (days without a visit)"), default=183, validators=[MinValueValidator(30)]
    )
    schedule_interval_days = models.PositiveSmallIntegerField(
        _("maintenance interval (days)"), default=182, validators=[MinValueValidator(30), MaxValueValidator(730)]
    )
    schedule_distance_km = models.PositiveIntegerField(
        _("maintenance distance (km)"), default=5000, validators=[MinValueValidator(1000), MaxValueValidator(50000)]
    )
    brand_schedules = models.JSONField(
        _("maintenance schedule per brand"),
        default=dict,
        blank=True,
        help_text=_('Brand → interval and distance, e.g. {"别克": {"interval_days": 182, "distance_km": 5000}}.'),
    )

    RULE_FIELDS = (
        "window_days",
        "maintenance_threshold",
        "value_threshold_mode",
        "value_threshold_fixed",
        "repair_ratio_threshold",
        "c3_mapping",
        "tier_a_min",
        "tier_b_min",
        "tier_c_min",
        "high_value_above",
        "high_value_visits",
        "mid_value_from",
        "mid_value_visits",
        "lapsed_days",
        "schedule_interval_days",
        "schedule_distance_km",
        "brand_schedules",
    )

    class Meta:
        verbose_name = _("segmentation rules")
        verbose_name_plural = _("segmentation rules")
        ordering = ["dealership", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "version"], name="uniq_rule_version_per_dealership"),
        ]

    def __str__(self):
        return f"{self.dealership.code} v{self.version}"

    def rules(self) -> dict:
        return {name: getattr(self, name) for name in self.RULE_FIELDS}

    def clean(self):
        errors: dict[str, list] = {}

        def refuse(field: str, message, **params):
            errors.setdefault(field, []).append(ValidationError(message, code=f"invalid_{field}", params=params))

        if self.maintenance_threshold is not None and not (0 < self.maintenance_threshold <= 12):
            refuse("maintenance_threshold", _("Between 0 and 12 visits a year."))
        if self.repair_ratio_threshold is not None and not (0 < self.repair_ratio_threshold <= 1):
            refuse("repair_ratio_threshold", _("A share: more than 0, at most 1."))
        fixed = self.value_threshold_fixed
        if self.value_threshold_mode == self.ValueThreshold.FIXED and (fixed is None or fixed <= 0):
            refuse("value_threshold_fixed", _("Give the amount: a fixed value threshold needs one above 0."))
        if not (self.tier_a_min > self.tier_b_min > self.tier_c_min >= 1):
            refuse("tier_a_min", _("Tier thresholds must fall from A to C (A > B > C ≥ 1), e.g. 3, 2, 1."))
        high, mid = self.high_value_above, self.mid_value_from
        if high is not None and mid is not None and not (high > mid > 0):
            refuse("high_value_above", _("The high-value amount must be above the mid-value amount, both above 0."))
        if self.high_value_visits < self.mid_value_visits:
            refuse("high_value_visits", _("High value needs at least as many visits a year as mid value."))
        mapping = self.c3_mapping if isinstance(self.c3_mapping, dict) else {}
        missing = [cell for cell in C3_CELLS if cell not in mapping]
        unknown = sorted(set(mapping) - set(C3_CELLS))
        if missing or unknown:
            refuse(
                "c3_mapping",
                _("The mapping needs exactly the eight cells %(cells)s; missing: %(missing)s, unknown: %(unknown)s."),
                cells=", ".join(C3_CELLS),
                missing=", ".join(missing) or "—",
                unknown=", ".join(unknown) or "—",
            )
        else:
            bad = sorted({str(v) for v in mapping.values()} - set(C3Group.values))
            repeated = sorted({v for v in mapping.values() if list(mapping.values()).count(v) > 1})
            if bad:
                refuse("c3_mapping", _("Unknown C3 group: %(codes)s."), codes=", ".join(bad))
            elif repeated:
                refuse(
                    "c3_mapping", _("Each C3 group takes one cell; given twice: %(codes)s."), codes=", ".join(repeated)
                )
        schedules = self.brand_schedules if isinstance(self.brand_schedules, dict) else None
        if schedules is None:
            refuse("brand_schedules", _("Brand → {interval_days, distance_km}."))
        else:
            for brand, schedule in schedules.items():
                ok = isinstance(schedule, dict) and set(schedule) <= {"interval_days", "distance_km"}
                values = schedule.values() if ok else []
                if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
                    refuse(
                        "brand_schedules",
                        _("%(brand)s: give whole positive numbers for interval_days and distance_km."),
                        brand=brand,
                    )
        if errors:
            raise ValidationError(errors)

    def schedule_for(self, brand: str) -> tuple[int, int]:
        """(interval in days, distance in km) of the maintenance schedule for ``brand``."""
        own = (self.brand_schedules or {}).get(brand or "", {})
        return (
            int(own.get("interval_days", self.schedule_interval_days)),
            int(own.get("distance_km", self.schedule_distance_km)),
        )


class SegmentationRun(models.Model):
    class Trigger(models.TextChoices):
        COMMAND = "command", _("Command")
        SCHEDULE = "schedule", _("Nightly job")
        BUTTON = "button", _("Run now")
        API = "api", _("API")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")

    dealership = models.ForeignKey(
        Dealership,
        on_delete=models.PROTECT,
        related_name="segmentation_runs",
        verbose_name=_("dealership"),
        db_index=False,
    )
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="runs", verbose_name=_("rules"))
    reference_date = models.DateField(_("reference date"))
    trigger = models.CharField(_("started by way of"), max_length=10, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("started by")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    value_threshold = models.DecimalField(
        _("spend per year counted as high"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("The median of active customers or the fixed amount, as applied by this run."),
    )
    customers = models.PositiveIntegerField(_("customers"), default=0)
    active_customers = models.PositiveIntegerField(_("active customers"), default=0)
    changed_customers = models.PositiveIntegerField(_("customers changed"), default=0)
    changed_vehicles = models.PositiveIntegerField(_("vehicles changed"), default=0)
    counts = models.JSONField(_("counts"), default=dict)
    fingerprint = models.CharField(_("data fingerprint"), max_length=64, blank=True)
    reused_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unchanged since"),
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("segmentation run")
        verbose_name_plural = _("segmentation runs")
        ordering = ["-id"]
        indexes = [models.Index(fields=["dealership", "status", "-id"], name="segrun_latest_idx")]

    def __str__(self):
        return f"{self.dealership.code} #{self.pk} {self.reference_date:%Y-%m-%d}"


class RunResult(models.Model):
    """A result row valid from the run that wrote it (``valid_from``) until the first later run of the
    dealership that found it changed (``valid_to``, empty while it holds)."""

    # No database constraints on these tables' keys: the rows are derived, written by the run itself from the
    # rows it read in the same transaction (under the dealership's lock), and a deferred constraint trigger per
    # written row costs more than the rest of the run (measured: 10 s at commit for 100,000 customers).
    # Deleting a customer, vehicle or run deletes its results through Django's collector.
    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    valid_from = models.ForeignKey(
        SegmentationRun,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("from run"),
        db_index=False,
        db_constraint=False,
    )
    valid_to = models.ForeignKey(
        SegmentationRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("until run"),
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        abstract = True


class CustomerSegment(RunResult):
    """One customer's result, from ``valid_from`` until ``valid_to`` (the run that found it changed)."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,  # by Django's collector: no constraint trigger per written row (see RunResult)
        related_name="segments",
        verbose_name=_("customer"),
        db_index=False,
        db_constraint=False,
    )
    c3_group = models.CharField(_("C3 group"), max_length=24, choices=C3Group.choices, blank=True)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    value_layer = models.CharField(_("value layer"), max_length=10, choices=ValueLayer.choices)
    lapsed = models.BooleanField(_("lapsed"))
    # What the verdict rests on, for the run's window, year and lifetime up to its date:
    window_visits = models.PositiveIntegerField(_("visits in the window"))
    maintenance_visits = models.PositiveIntegerField(_("maintenance visits in the window"))
    window_spend = models.DecimalField(_("spend in the window"), **MONEY)
    maintenance_spend = models.DecimalField(_("maintenance spend in the window"), **MONEY)
    observed_from = models.DateField(
        _("observed from"),
        null=True,
        blank=True,
        help_text=_("Purchase date of the customer's earliest vehicle (its first visit when unknown)."),
    )
    visits_12m = models.PositiveIntegerField(_("visits in the last 12 months"))
    lifetime_value = models.DecimalField(_("lifetime value"), **MONEY)
    last_visit_on = models.DateField(_("last visit"), null=True, blank=True)
    tags = models.BigIntegerField(
        _("automatic tags"), default=0, help_text=_("One bit per automatic tag (segmentation.tagging.AUTOMATIC_TAGS).")
    )

    RESULT_FIELDS = (
        "c3_group",
        "tier",
        "value_layer",
        "lapsed",
        "window_visits",
        "maintenance_visits",
        "window_spend",
        "maintenance_spend",
        "observed_from",
        "visits_12m",
        "lifetime_value",
        "last_visit_on",
        "tags",
    )

    class Meta:
        verbose_name = _("customer segment")
        verbose_name_plural = _("customer segments")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(valid_to__isnull=True), name="one_current_segment_per_customer"
            ),
        ]
        indexes = [
            models.Index(fields=["dealership", "valid_from"], name="segment_from_idx"),
            models.Index(fields=["customer", "valid_from"], name="segment_customer_idx"),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.c3_group or '-'} {self.tier} {self.value_layer}"

    def rates(self, *, reference_date: date, window_days: int) -> dict[str, Decimal]:
        """Maintenance visits and spend per year and the repair ratio, as of ``reference_date``."""
        from .engine import customer_rates

        return customer_rates(
            maintenance_visits=self.maintenance_visits,
            window_spend=self.window_spend,
            maintenance_spend=self.maintenance_spend,
            observed_from=self.observed_from,
            reference_date=reference_date,
            window_days=window_days,
        )


class VehicleForecast(RunResult):
    """One vehicle's age band and next maintenance due date, from ``valid_from`` until ``valid_to``."""

    vehicle = models.ForeignKey(
        Vehicle,
        on_delete=models.CASCADE,
        related_name="forecasts",
        verbose_name=_("vehicle"),
        db_index=False,
        db_constraint=False,
    )
    age_band = models.CharField(_("age band"), max_length=3, choices=AgeBand.choices, blank=True)
    last_maintenance_on = models.DateField(_("last maintenance"), null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField(_("interval (days)"), null=True, blank=True)
    due_basis = models.CharField(_("interval from"), max_length=10, choices=DueBasis.choices, blank=True)
    next_due_on = models.DateField(_("next maintenance due"), null=True, blank=True)

    RESULT_FIELDS = ("age_band", "last_maintenance_on", "interval_days", "due_basis", "next_due_on")

    class Meta:
        verbose_name = _("vehicle forecast")
        verbose_name_plural = _("vehicle forecasts")
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(valid_to__isnull=True), name="one_current_forecast_per_vehicle"
            ),
        ]
        indexes = [
            models.Index(fields=["dealership", "valid_from"], name="forecast_from_idx"),
            models.Index(
                fields=["dealership", "next_due_on"], condition=Q(valid_to__isnull=True), name="forecast_due_idx"
            ),
        ]

    def __str__(self):
        return f"{self.vehicle_id} {self.age_band} → {self.next_due_on}"


class TagKind(models.TextChoices):
    SOURCE = "source", _("Source")
    VEHICLE = "vehicle", _("Vehicle")
    VALUE = "value", _("Value")
    BEHAVIOUR = "behaviour", _("Behaviour")
    PREFERENCE = "preference", _("Preference")
    CONSENT = "consent", _("Consent")
    LIFECYCLE = "lifecycle", _("Life cycle")
    PAYMENT = "payment", _("Payment")
    SERVICE = "service", _("Service")
    DATA_QUALITY = "data_quality", _("Data quality")


class Tag(models.Model):
    """A label of staff's own that campaigns can filter on, beside the automatic tags every segmentation run
    sets (``segmentation.tagging.AUTOMATIC_TAGS``, kept as bits of ``CustomerSegment.tags``)."""

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="tags", verbose_name=_("dealership"), db_index=False
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(pgettext_lazy("tag", "name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=TagKind.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["dealership", "code"], name="uniq_tag_code_per_dealership")]

    def __str__(self):
        return self.name


class CustomerTag(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="customer_tags", verbose_name=_("customer"), db_index=False
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_tags", verbose_name=_("tag"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("added by")
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="uniq_customer_tag")]

    def __str__(self):
        return f"{self.customer_id} {self.tag_id}"
