"""What the reports keep: the weekly report packs and who received them, long exports run as a task, and the
staff incentives' tier tables. The figures themselves are never stored: they are computed from the records
(``reports.kpis`` and the report definitions), except in a pack, which is a frozen snapshot by design."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dealercrm.core.audit import AuditedHistory
from dealercrm.core.models import Dealership


class WeeklyPack(models.Model):
    """The weekly report pack of one dealership for one week (Monday to Sunday): one XLSX with a sheet per
    section, built from a frozen snapshot on the Monday after, once."""

    class Status(models.TextChoices):
        BUILDING = "building", _("Building")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    dealership = models.ForeignKey(
        Dealership, on_delete=models.CASCADE, related_name="weekly_packs", verbose_name=_("dealership")
    )
    week_start = models.DateField(_("week from"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BUILDING)
    file = models.FileField(_("file"), upload_to="reports/packs/", blank=True)
    #: the moment the figures were read (the snapshot's)
    snapshot_at = models.DateTimeField(_("figures as of"), null=True, blank=True)
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("weekly report pack")
        verbose_name_plural = _("weekly report packs")
        ordering = ["-week_start", "dealership_id"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "week_start"], name="one_pack_per_store_and_week"),
        ]

    def __str__(self):
        return f"{self.dealership_id} · {self.week_start:%Y-%m-%d}"


class PackDelivery(models.Model):
    """One e-mail of a pack to one recipient: at most one per (pack, recipient), whatever the retries."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    pack = models.ForeignKey(WeeklyPack, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("pack"))
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("recipient")
    )
    email = models.EmailField(_("e-mail"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SENDING)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pack delivery")
        verbose_name_plural = _("pack deliveries")
        ordering = ["pack_id", "recipient_id"]
        constraints = [models.UniqueConstraint(fields=["pack", "recipient"], name="one_delivery_per_recipient")]

    def __str__(self):
        return f"{self.pack_id} → {self.recipient_id}"


class ExportJob(models.Model):
    """A report exported as a task (long exports), with its progress for the page that waits on it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    dealership = models.ForeignKey(
        Dealership, on_delete=models.CASCADE, related_name="export_jobs", verbose_name=_("dealership")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs", verbose_name=_("user")
    )
    report = models.CharField(_("report"), max_length=50)
    #: the request's query (period, scope, campaign…), replayed by the task
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices, default=Format.XLSX)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    file = models.FileField(_("file"), upload_to="reports/exports/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_percent")]

    def __str__(self):
        return f"{self.report} · {self.get_status_display()}"


class IncentiveTier(models.Model):
    """One tier of a target group's incentive table (SPEC "staff incentives"): from ``min_rate`` of the agent's
    target-customer arrival rate (invited customers of the agent who came ÷ invited customers of the agent) up
    to the next tier, the agent gets ``amount`` per arrived customer, or ``amount`` once when ``per_customer``
    is off (a penalty below the lowest bar)."""

    dealership = models.ForeignKey(
        Dealership, on_delete=models.CASCADE, related_name="incentive_tiers", verbose_name=_("dealership")
    )
    #: the C3 group the table is for (``segmentation.models.C3Group``)
    c3_group = models.CharField(_("customer group"), max_length=30)
    min_rate = models.DecimalField(_("from arrival rate"), max_digits=5, decimal_places=4)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=10, decimal_places=2)
    per_customer = models.BooleanField(_("per arrived customer"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    #: who changed a tier, when, old → new (``reports.incentives.incentive_tiers_replace`` runs as its user)
    history = AuditedHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("incentive tier")
        verbose_name_plural = _("incentive tiers")
        ordering = ["dealership_id", "c3_group", "min_rate"]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "c3_group", "min_rate"], name="one_tier_per_bar"),
            models.CheckConstraint(condition=Q(min_rate__gte=0, min_rate__lte=1), name="tier_rate_is_a_fraction"),
        ]

    def __str__(self):
        return f"{self.c3_group} ≥ {self.min_rate}: {self.amount}"
