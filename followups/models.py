"""Follow-ups: the ledger of touches, the messages sent for them, surveys and complaints.

A **touch** is one planned contact with a customer: a call task for an agent or a message through a channel.
Its due time lives here, in the database, never as a countdown in the broker: the planner
(``followups.planner``) inserts touches from the current state of the records, and the dispatcher
(``followups.dispatcher``) claims the due ones, checks them again at the moment of sending and sends them.
One touch per natural key is kept by the database's unique constraints below, so a job run twice, two jobs at
once or a worker killed midway never plans or sends the same touch twice.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Customer, ServiceVisit, Vehicle
from dealercrm.core.audit import AuditedHistory
from dealercrm.core.fields import EncryptedTextField
from dealercrm.core.models import Dealership


class TouchClass(models.TextChoices):
    """Service touches need no marketing consent; marketing touches do (SPEC "Follow-ups and reminders")."""

    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")


class TouchChannel(models.TextChoices):
    CALL = "call", _("Call task")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")


#: the channels that reach the customer's phone number: a known wrong number stops them
PHONE_CHANNELS = frozenset({TouchChannel.CALL, TouchChannel.SMS})
MESSAGE_CHANNELS = frozenset({TouchChannel.SMS, TouchChannel.WECHAT, TouchChannel.EMAIL})


class Priority(models.IntegerChoices):
    """When touches compete (the cap, an agent's queue), the lower number goes first."""

    COMPLAINT = 1, _("Complaint")
    SATISFACTION = 2, _("Satisfaction")
    MAINTENANCE = 3, _("Maintenance")
    MARKETING = 4, _("Marketing")


class Touch(models.Model):
    class Kind(models.TextChoices):
        DAY_7 = "day7", _("Day-7 follow-up")
        DAY_15 = "day15", _("Day-15 follow-up")
        DAY_30 = "day30", _("Day-30 follow-up")
        SATISFACTION = "csi_call", _("Satisfaction call")
        CAMPAIGN_SATISFACTION = "campaign_csi", _("Satisfaction call after a campaign")
        SURVEY = "survey", _("Survey")
        DUE_MESSAGE = "due_message", _("Maintenance reminder (message)")
        DUE_CALL = "due_call", _("Maintenance reminder (call)")
        BIRTHDAY = "birthday", _("Birthday care")
        WAKE_UP = "wake_up", _("Wake-up of a lapsed customer")
        COMPLAINT = "complaint", _("Complaint follow-up")
        INVITATION = "invitation", _("Campaign invitation by message")

    #: the natural key's subject of each kind (a database constraint keeps one touch per key)
    BY_VISIT = (Kind.DAY_7, Kind.DAY_15, Kind.DAY_30, Kind.SATISFACTION, Kind.SURVEY)
    BY_INVITATION = (Kind.CAMPAIGN_SATISFACTION, Kind.INVITATION)
    BY_VEHICLE = (Kind.DUE_MESSAGE, Kind.DUE_CALL)
    BY_CUSTOMER = (Kind.BIRTHDAY, Kind.WAKE_UP)
    BY_COMPLAINT = (Kind.COMPLAINT,)

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        CLAIMED = "claimed", _("Being sent")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        DONE = "done", pgettext_lazy("touch status", "Done")
        FAILED = "failed", _("Failed")
        AMBIGUOUS = "ambiguous", _("Result unknown")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        SKIPPED = "skipped", _("Skipped")

    #: still to happen: stop conditions cancel these
    PENDING = (Status.PLANNED, Status.CLAIMED)
    #: happened (as far as we know): they count against the marketing cap
    REACHED = (Status.SENT, Status.DELIVERED, Status.DONE, Status.AMBIGUOUS)

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="+", verbose_name=_("dealership"), db_index=False
    )
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="touches", verbose_name=_("customer"), db_index=False
    )
    visit = models.ForeignKey(
        ServiceVisit,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="touches",
        verbose_name=_("visit"),
        db_index=False,
    )
    invitation = models.ForeignKey(
        "campaigns.Invitation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="touches",
        verbose_name=_("invitation"),
        db_index=False,
    )
    vehicle = models.ForeignKey(
        Vehicle,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="touches",
        verbose_name=_("vehicle"),
        db_index=False,
    )
    complaint = models.ForeignKey(
        "followups.Complaint",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="touches",
        verbose_name=_("complaint"),
        db_index=False,
    )
    #: the rest of the natural key: the due date (maintenance), the year (birthday), the half-year (wake-up)
    occasion = models.CharField(_("occasion"), max_length=16, blank=True)
    due_at = models.DateTimeField(_("due"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    touch_class = models.CharField(_("class"), max_length=10, choices=TouchClass.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=TouchChannel.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touches",
        verbose_name=_("assigned to"),
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    #: why it was skipped, cancelled, expired or failed: a stable code, and the words for people
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    reason_detail = models.CharField(_("reason in words"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("attempts allowed"), default=1)
    #: the dispatcher's lease: a claimed touch whose lease ran out (its worker died) is claimed again
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    provider_ref = models.CharField(_("provider's reference"), max_length=64, blank=True)
    error_code = models.CharField(_("provider's error code"), max_length=40, blank=True)
    error_text = models.CharField(_("provider's error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("touch")
        verbose_name_plural = _("touches")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "visit"],
                condition=Q(kind__in=["day7", "day15", "day30", "csi_call", "survey"]),
                name="one_touch_per_visit",
            ),
            models.UniqueConstraint(
                fields=["kind", "invitation"],
                condition=Q(kind__in=["campaign_csi", "invitation"]),
                name="one_touch_per_invitation",
            ),
            models.UniqueConstraint(
                fields=["kind", "vehicle", "occasion"],
                condition=Q(kind__in=["due_message", "due_call"]),
                name="one_touch_per_vehicle_due_date",
            ),
            models.UniqueConstraint(
                fields=["kind", "customer", "occasion"],
                condition=Q(kind__in=["birthday", "wake_up"]),
                name="one_touch_per_customer_occasion",
            ),
            models.UniqueConstraint(
                fields=["kind", "complaint"], condition=Q(kind="complaint"), name="one_touch_per_complaint"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["day7", "day15", "day30", "csi_call", "survey"], visit__isnull=False)
                    | Q(kind__in=["campaign_csi", "invitation"], invitation__isnull=False)
                    | Q(kind__in=["due_message", "due_call"], vehicle__isnull=False) & ~Q(occasion="")
                    | Q(kind__in=["birthday", "wake_up"]) & ~Q(occasion="")
                    | Q(kind="complaint", complaint__isnull=False)
                ),
                name="touch_has_its_subject",
            ),
            models.CheckConstraint(condition=Q(attempts__lte=models.F("max_attempts")), name="touch_attempts_capped"),
        ]
        indexes = [
            # The dispatcher's scan: due touches still to send, in order.
            models.Index(
                fields=["due_at", "priority"], condition=Q(status__in=["planned", "claimed"]), name="touch_due_idx"
            ),
            # The customer's cards, the cap (marketing touches of the last 30 days) and the stop conditions.
            models.Index(fields=["customer", "due_at"], name="touch_customer_idx"),
            # An agent's follow-up calls, in the order of their queue (campaigns.callcard: priority, due time).
            models.Index(
                fields=["assignee", "priority", "due_at"],
                condition=Q(channel="call", status="planned"),
                name="touch_call_idx",
            ),
            models.Index(fields=["dealership", "kind", "status"], name="touch_overview_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.customer_id} · {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING


class TouchAttempt(models.Model):
    """One call made for a follow-up call task: who, when, what came of it (the call card's contact history)."""

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        DECLINED = "declined", _("Declined")
        CALL_BACK = "call_back", _("Call back")
        DONE = "done", _("Reached")
        COMPLAINT = "complaint", _("Complaint raised")

    touch = models.ForeignKey(Touch, on_delete=models.CASCADE, related_name="call_attempts", verbose_name=_("touch"))
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("agent")
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    called_at = models.DateTimeField(_("called at"))
    call_back_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("follow-up call")
        verbose_name_plural = _("follow-up calls")
        ordering = ["-called_at", "-id"]

    def __str__(self):
        return f"{self.touch_id} · {self.outcome}"


class Message(models.Model):
    """One message handed to a channel's provider for a touch: what was sent, to whom, and what came back.

    The idempotency key goes to the provider with every send: a retry after a definite failure carries the
    same key, so a provider that did receive the first one does not send it twice."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted by the provider")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Result unknown")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="+", verbose_name=_("dealership"), db_index=False
    )
    touch = models.ForeignKey(
        Touch, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", verbose_name=_("touch")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="messages", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=TouchChannel.choices)
    backend = models.CharField(_("back end"), max_length=40)
    # encrypted: a phone number, an e-mail address or a WeChat OpenID (PIPL: no plain number in the database)
    recipient = EncryptedTextField(_("recipient"))
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    template_code = models.CharField(_("provider's template code"), max_length=40, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACCEPTED)
    provider_ref = models.CharField(_("provider's reference"), max_length=64, blank=True)
    error_code = models.CharField(_("provider's error code"), max_length=40, blank=True)
    error_text = models.CharField(_("provider's error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["channel", "provider_ref"], name="message_provider_ref_idx")]

    def __str__(self):
        return f"{self.channel} → {self.pk}"


class MessageTemplate(models.Model):
    """The text of a kind of touch on a channel in a language, with ``{variables}``; checked when saved."""

    dealership = models.ForeignKey(
        Dealership, on_delete=models.CASCADE, related_name="+", verbose_name=_("dealership"), db_index=False
    )
    kind = models.CharField(_("kind"), max_length=14, choices=Touch.Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=TouchChannel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    #: SMS: the signature and template code approved by the carrier; WeChat: the template's id
    signature = models.CharField(_("approved signature"), max_length=20, blank=True)
    provider_template_code = models.CharField(_("provider's template code"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealership", "kind", "channel", "language"], name="one_message_template_per_kind"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.get_channel_display()} · {self.language}"


class FollowupPolicy(models.Model):
    """A dealership's follow-up settings; a store without a row uses the defaults (``followups.policy``)."""

    class WhenCapped(models.TextChoices):
        WAIT = "wait", _("Wait until the cap allows it")
        SKIP = "skip", _("Skip it")

    dealership = models.OneToOneField(
        Dealership, on_delete=models.CASCADE, related_name="followup_policy", verbose_name=_("dealership")
    )
    send_from = models.TimeField(_("send from"), default=dt.time(9, 0))
    send_until = models.TimeField(_("send until"), default=dt.time(20, 0))
    #: per channel: {"sms": ["09:00", "20:00"], …}; a channel not named uses send_from/send_until
    channel_windows = models.JSONField(_("sending hours per channel"), default=dict, blank=True)
    marketing_cap = models.PositiveSmallIntegerField(_("marketing touches allowed"), default=4)
    cap_days = models.PositiveSmallIntegerField(_("in how many days"), default=30)
    when_capped = models.CharField(
        _("a capped touch"), max_length=4, choices=WhenCapped.choices, default=WhenCapped.WAIT
    )
    followup_visit_types = models.JSONField(_("visit types followed up on day 7/15/30"), default=list, blank=True)
    reminder_message_days = models.PositiveSmallIntegerField(_("reminder message: days before due"), default=14)
    reminder_call_days = models.PositiveSmallIntegerField(_("reminder call: days before due"), default=7)
    #: a coupon offered with the birthday care: the touch is then marketing (it needs marketing consent)
    birthday_offer = models.ForeignKey(
        "campaigns.CouponTemplate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("birthday offer"),
    )
    complaint_response_hours = models.PositiveSmallIntegerField(_("first response within (business hours)"), default=24)
    complaint_resolution_days = models.PositiveSmallIntegerField(_("resolution told within (working days)"), default=7)
    business_from = models.TimeField(_("business hours from"), default=dt.time(9, 0))
    business_until = models.TimeField(_("business hours until"), default=dt.time(18, 0))
    #: ISO weekdays (1 = Monday) the store works
    business_days = models.JSONField(_("working days"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("follow-up settings")
        verbose_name_plural = _("follow-up settings")

    def __str__(self):
        return str(self.dealership)


class Survey(models.Model):
    """A satisfaction survey sent after a visit (or an owner event): one per visit, answered once by link."""

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="+", verbose_name=_("dealership"), db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="surveys", verbose_name=_("customer"))
    visit = models.OneToOneField(
        ServiceVisit, on_delete=models.CASCADE, null=True, blank=True, related_name="survey", verbose_name=_("visit")
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner event"),
    )
    touch = models.OneToOneField(
        Touch, on_delete=models.SET_NULL, null=True, blank=True, related_name="survey", verbose_name=_("touch")
    )
    #: the link's secret: the signed link names the survey and this nonce; answering clears nothing, used_at
    #: marks it used
    nonce = models.CharField(_("link secret"), max_length=32, unique=True)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("link valid until"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    nps = models.PositiveSmallIntegerField(
        _("likely to recommend (0–10)"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="survey_satisfaction_1_to_5",
            ),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="survey_nps_0_to_10"),
        ]

    def __str__(self):
        return f"{self.customer_id} · {self.sent_at:%Y-%m-%d}"


class Complaint(models.Model):
    """A customer's complaint: opened from a survey, a call or the counter, answered within its deadline."""

    class Source(models.TextChoices):
        SURVEY = "survey", _("Survey")
        CALL = "call", _("Call")
        COUNTER = "counter", _("At the counter")
        API = "api", _("API")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("complaint status", "Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    #: a complaint in these states holds back surveys and marketing to its customer
    OPEN_STATES = (Status.OPEN, Status.ACKNOWLEDGED)

    dealership = models.ForeignKey(
        Dealership, on_delete=models.PROTECT, related_name="+", verbose_name=_("dealership"), db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="complaints", verbose_name=_("customer")
    )
    visit = models.ForeignKey(
        ServiceVisit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("visit"),
    )
    survey = models.OneToOneField(
        Survey, on_delete=models.SET_NULL, null=True, blank=True, related_name="complaint", verbose_name=_("survey")
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    summary = models.TextField(_("what the customer said"))
    resolution = models.TextField(_("how it was handled"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("handled by"),
    )
    opened_at = models.DateTimeField(_("opened at"))
    response_due_at = models.DateTimeField(_("first response due"))
    resolution_due_at = models.DateTimeField(_("resolution due"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["dealership", "status", "response_due_at"], name="complaint_due_idx"),
        ]

    def __str__(self):
        return f"{self.customer_id} · {self.opened_at:%Y-%m-%d}"


class WebhookReceipt(models.Model):
    """A provider's call to our webhooks, kept so that a replayed call is refused and changes nothing."""

    provider = models.CharField(_("provider"), max_length=20)
    event_id = models.CharField(_("event"), max_length=100)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    payload = models.JSONField(_("payload"), default=dict)

    class Meta:
        verbose_name = _("webhook call")
        verbose_name_plural = _("webhook calls")
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="one_webhook_receipt_per_event"),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_id}"


class WeChatSubscription(models.Model):
    """One one-time subscription (一次性订阅) a customer granted on WeChat: it allows one message, counted here."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="wechat_subscriptions", verbose_name=_("customer")
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    touch = models.ForeignKey(
        Touch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("used for")
    )

    class Meta:
        verbose_name = _("WeChat subscription")
        verbose_name_plural = _("WeChat subscriptions")
        indexes = [
            models.Index(fields=["customer", "granted_at"], condition=Q(used_at__isnull=True), name="wechat_quota_idx")
        ]

    def __str__(self):
        return f"{self.customer_id} · {self.granted_at:%Y-%m-%d}"
