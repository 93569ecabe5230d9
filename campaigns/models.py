"""Campaigns, their target groups, the invitation list with its call attempts, coupons, and the compliance terms."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import MONEY, ZERO, Appointment, Customer, ServiceVisit, Vehicle, VisitType
from dealercrm.core.audit import AuditedHistory
from dealercrm.core.models import Dealership

RATE = {"max_digits": 5, "decimal_places": 4}  # a share or a rate, 0 … 1


class CampaignKind(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance promotion")
    SEASONAL = "seasonal", _("Seasonal check")
    WAKE_UP = "wake_up", _("Lost-customer wake-up")
    BIRTHDAY = "birthday", _("Birthday care")
    OWNER_EVENT = "owner_event", _("Owner event")


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", pgettext_lazy("campaign status", "Running")
        FINISHED = "finished", pgettext_lazy("campaign status", "Finished")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("dealership"), db_index=False
    )
    code = models.CharField(
        _("campaign code"), max_length=32, help_text=_("The campaign code the DMS writes on the campaign's visits.")
    )
    name = models.CharField(_("campaign name"), max_length=120)
    kind = models.CharField(_("type"), max_length=12, choices=CampaignKind.choices)
    description = models.TextField(_("campaign copy"), blank=True)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    budget = models.DecimalField(_("budget"), **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)])
    cost = models.DecimalField(_("cost"), **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)])
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    max_attempts = models.PositiveSmallIntegerField(
        _("call attempts per invitation"), default=3, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    reinvite_after_days = models.PositiveSmallIntegerField(
        _("second invitation after (days)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Days after a booked date that was not kept before the customer is invited again."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"])

    #: what may still change once the campaign runs, and once it is finished
    RUNNING_FIELDS = frozenset({"name", "description", "ends_on", "budget", "cost", "max_attempts"})
    FINISHED_FIELDS = frozenset({"cost"})

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "code"], name="uniq_campaign_code"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="campaign_period_in_order"),
        ]
        indexes = [models.Index(fields=["dealership", "status", "starts_on"], name="campaign_status_idx")]

    def __str__(self):
        return f"{self.code} {self.name}"

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            message = _("The last day comes before the first day.")
            raise ValidationError({"ends_on": ValidationError(message, code="ends_before_start")})

    def in_period(self, day) -> bool:
        return self.starts_on <= day <= self.ends_on


class CouponTemplate(models.Model):
    class Kind(models.TextChoices):
        LABOR_AMOUNT = "labor_amount", _("Amount off labour")
        PARTS_PERCENT = "parts_percent", _("Percentage off parts")
        GIFT = "gift", _("Free item or gift")
        POINTS = "points", _("Points multiplier")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="coupon_templates", verbose_name=_("dealership")
    )
    name = models.CharField(_("template name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    value = models.DecimalField(
        _("value"),
        **MONEY,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Yuan off labour, percent off parts (15 = 85折), or the points multiplier (3 = 3×)."),
    )
    gift = models.CharField(_("gift"), max_length=120, blank=True)
    min_spend = models.DecimalField(_("minimum spend"), **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)])
    visit_types = models.JSONField(
        _("visit types"), default=list, blank=True, help_text=_("Visit types it may be used on; empty: any.")
    )
    next_visit_only = models.BooleanField(
        _("next visit only"), default=False, help_text=_("Not usable on the visit that issued it.")
    )
    valid_days = models.PositiveSmallIntegerField(
        _("valid for (days)"), default=90, validators=[MinValueValidator(1), MaxValueValidator(3660)]
    )
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("A last day for every coupon of it, if earlier.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.kind == self.Kind.PARTS_PERCENT and not (Decimal("0") < (self.value or 0) < Decimal("100")):
            errors["value"] = ValidationError(
                _("A percentage off parts is more than 0 and less than 100."), code="coupon_value_out_of_range"
            )
        elif self.kind == self.Kind.POINTS and (self.value or 0) <= 1:
            errors["value"] = ValidationError(
                _("A points multiplier is more than 1."), code="coupon_value_out_of_range"
            )
        elif self.kind == self.Kind.LABOR_AMOUNT and (self.value or 0) <= 0:
            errors["value"] = ValidationError(
                _("An amount off labour is more than zero."), code="coupon_value_out_of_range"
            )
        elif self.kind == self.Kind.GIFT and not self.gift.strip():
            errors["gift"] = ValidationError(_("Name the gift."), code="gift_missing")
        unknown = set(self.visit_types or []) - set(VisitType.values)
        if unknown:
            errors["visit_types"] = ValidationError(
                _("Unknown visit type: %(names)s.") % {"names": ", ".join(sorted(unknown))}, code="unknown_visit_type"
            )
        if errors:
            raise ValidationError(errors)


class TargetGroup(models.Model):
    """A saved filter over the segmentation results and the customers' vehicles, with its script and offer.

    ``filters`` holds the codes of ``campaigns.targeting.FILTER_KEYS``. A customer is invited in the first
    group (by ``position``) that matches. Variant B (a second script or offer) is used when ``ab_test``.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="target_groups", verbose_name=_("campaign")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    name = models.CharField(_("group name"), max_length=80)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    goal_rate = models.DecimalField(
        _("goal: invitation success rate"),
        **RATE,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    script = models.TextField(_("call script"), blank=True)
    offers = models.ManyToManyField(CouponTemplate, blank=True, related_name="+", verbose_name=_("offer"))
    ab_test = models.BooleanField(_("A/B test"), default=False)
    script_b = models.TextField(_("call script, variant B"), blank=True)
    offers_b = models.ManyToManyField(CouponTemplate, blank=True, related_name="+", verbose_name=_("offer, variant B"))
    holdout_share = models.DecimalField(
        _("holdout share"),
        **RATE,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.5"))],
        help_text=_("Share of the matching customers kept aside at random and never called (0 … 0.5)."),
    )
    #: invitations by message (seed 000's electronic invitation): a personal link to the campaign's page
    invite_channel = models.CharField(
        _("invite by message"),
        max_length=8,
        choices=[("sms", _("SMS")), ("wechat", _("WeChat")), ("email", _("Email"))],
        blank=True,
        help_text=_("Send each invitee a personal link to the campaign's page with its offer and a booking form."),
    )
    call_after_message_days = models.PositiveSmallIntegerField(
        _("call those who have not booked after (days)"),
        null=True,
        blank=True,
        help_text=_("Empty: the message replaces the call. A number: the call follows that many days later."),
    )

    history = AuditedHistory()

    class Meta:
        verbose_name = _("target group")
        verbose_name_plural = _("target groups")
        ordering = ["campaign", "position", "id"]

    def __str__(self):
        return self.name

    def clean(self):
        from .targeting import filter_errors

        errors = filter_errors(self.filters or {})
        if errors:
            raise ValidationError({"filters": [ValidationError(message, code="invalid_filters") for message in errors]})


class Invitation(models.Model):
    """A customer on a campaign's invitation list, frozen at generation, with the vehicle they matched through."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To call")
        CALL_BACK = "call_back", _("Call back")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        UNREACHED = "unreached", _("Not reached")  # the attempts ran out

    OPEN = (Status.PENDING, Status.CALL_BACK)

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("campaign"), db_index=False
    )
    target_group = models.ForeignKey(
        TargetGroup, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("target group")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("customer")
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("vehicle")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("agent"),
    )
    variant = models.CharField(_("variant"), max_length=1, default="A")
    holdout = models.BooleanField(_("holdout"), default=False)
    round = models.PositiveSmallIntegerField(_("invitation"), default=1)  # 2: the second invitation
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_call_at = models.DateTimeField(_("next call"), null=True, blank=True)
    last_called_at = models.DateTimeField(_("last call"), null=True, blank=True)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("appointment")
    )
    created_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="one_invitation_per_customer"),
            models.CheckConstraint(condition=Q(variant__in=["A", "B"]), name="invitation_variant_a_or_b"),
        ]
        indexes = [
            # The agent's queue, in its order: an ordered scan stops at the first customer still to call.
            models.Index(
                fields=["agent", "next_call_at", "id"],
                condition=Q(holdout=False, status__in=["pending", "call_back"]),
                name="invitation_queue_idx",
            ),
            models.Index(fields=["campaign", "target_group"], name="invitation_group_idx"),
        ]

    def __str__(self):
        return f"{self.campaign_id}: {self.customer_id}"

    @property
    def calls_variant_b(self) -> bool:
        """Whether the customer is called with the group's second script and offer (an A/B group's B half)."""
        return self.variant == "B" and self.target_group.ab_test

    @property
    def script(self) -> str:
        """The call script of the customer's group, for their variant."""
        return self.target_group.script_b if self.calls_variant_b else self.target_group.script

    def offer_templates(self):
        """The coupon templates the customer's group offers them, for their variant (active or not)."""
        group = self.target_group
        return group.offers_b.all() if self.calls_variant_b else group.offers.all()


class CallAttempt(models.Model):
    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        DECLINED = "declined", _("Declined")
        CALL_BACK = "call_back", _("Call back")
        ACCEPTED = "accepted", _("Accepted")

    class DeclineReason(models.TextChoices):
        NOT_NEEDED = "not_needed", _("No need at the moment")
        PRICE = "price", _("Price")
        TIME = "time", _("No time")
        ELSEWHERE = "elsewhere", _("Services the car elsewhere")
        SOLD = "sold", _("Sold the car")
        MOVED = "moved", _("Moved away")
        UNHAPPY = "unhappy", _("Unhappy with our service")
        OTHER = "other", _("Other")

    #: outcomes in which the customer was reached
    REACHED = (Outcome.DECLINED, Outcome.CALL_BACK, Outcome.ACCEPTED)

    invitation = models.ForeignKey(
        Invitation, on_delete=models.CASCADE, related_name="attempts_made", verbose_name=_("invitation")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("agent")
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    called_at = models.DateTimeField(_("called at"))
    call_back_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    appointment_date = models.DateField(_("appointment date"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=12, choices=DeclineReason.choices, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        ordering = ["-called_at", "-id"]
        indexes = [models.Index(fields=["agent", "called_at"], name="attempt_agent_day_idx")]

    def __str__(self):
        return f"{self.invitation_id} {self.outcome}"


class Coupon(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", pgettext_lazy("coupon status", "Open")
        REDEEMED = "redeemed", _("Redeemed")
        VOID = "void", _("Void")
        EXPIRED = "expired", _("Expired")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("dealership"), db_index=False
    )
    template = models.ForeignKey(
        CouponTemplate, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("template")
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="coupons", verbose_name=_("customer"))
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="coupons", verbose_name=_("campaign")
    )
    invitation = models.ForeignKey(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coupons",
        verbose_name=_("invitation"),
    )
    code = models.CharField(_("coupon code"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("issued at"))
    issued_visit = models.ForeignKey(
        ServiceVisit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("issued on")
    )
    expires_on = models.DateField(_("last day"))
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    redeemed_visit = models.ForeignKey(
        ServiceVisit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupons_redeemed",
        verbose_name=_("redeemed on"),
    )
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.CharField(_("reason"), max_length=200, blank=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="redeemed", redeemed_visit__isnull=False)
                | (~Q(status="redeemed") & Q(redeemed_visit__isnull=True)),
                name="coupon_redeemed_has_visit",
            ),
        ]
        indexes = [
            models.Index(fields=["dealership", "customer", "status"], name="coupon_customer_idx"),
            models.Index(fields=["status", "expires_on"], name="coupon_expiry_idx"),
        ]

    def __str__(self):
        return self.code


class ComplianceTerm(models.Model):
    """A dealership's own addition to the built-in list of banned absolute expressions, or to its allow-list."""

    class Kind(models.TextChoices):
        BANNED = "banned", _("Banned expression")
        ALLOWED = "allowed", _("Allowed phrase")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.CASCADE, related_name="compliance_terms", verbose_name=_("dealership")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    phrase = models.CharField(_("phrase"), max_length=40)

    class Meta:
        verbose_name = _("compliance term")
        verbose_name_plural = _("compliance terms")
        ordering = ["kind", "phrase"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "kind", "phrase"], name="uniq_compliance_term"),
        ]

    def __str__(self):
        return self.phrase
