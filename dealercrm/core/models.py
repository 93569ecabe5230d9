"""Tenancy: dealerships, staff users and their memberships."""

import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from knox.models import AbstractAuthToken
from simple_history.models import HistoricalRecords

from .roles import Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone."), params={"value": value}, code="invalid_time_zone"
        )


def validate_plate_prefix(value: str) -> None:
    """A region's plate prefix: a province's character and a letter (no I or O), e.g. 粤B."""
    from customers.validators import PROVINCES

    if value and not (len(value) == 2 and value[0] in PROVINCES and value[1] in "ABCDEFGHJKLMNPQRSTUVWXYZ"):
        raise ValidationError(
            _("“%(value)s” is not a plate prefix: a province's character and a capital letter, e.g. 粤B."),
            params={"value": value},
            code="invalid_plate_prefix",
        )


class Dealership(models.Model):
    code = models.SlugField(
        _("code"), max_length=20, unique=True, help_text=_("Short code used in URLs, imports and the API, e.g. DEMO.")
    )
    name = models.CharField(pgettext_lazy("dealership", "name"), max_length=100)
    city = models.CharField(_("city"), max_length=50, blank=True)
    plate_prefix = models.CharField(
        _("plate prefix"),
        max_length=2,
        blank=True,
        validators=[validate_plate_prefix],
        help_text=_("Plate prefix of the store's region, e.g. 粤B."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=50, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    is_active = models.BooleanField(_("active"), default=True)
    consent_text = models.TextField(
        _("consent text"),
        blank=True,
        help_text=_(
            "The words shown or read to a customer before they agree to offers; kept with every consent as its "
            "proof. Empty: the standard text."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("dealership")
        verbose_name_plural = _("dealerships")

    def __str__(self):
        return f"{self.code} · {self.name}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The store's time zone: its days ("today", a campaign's last day, a coupon's expiry) follow it."""
        return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)

    def local_date(self, when: datetime | None = None) -> date:
        """The date at the store at ``when`` (default: now), whatever the server's time zone."""
        return timezone.localdate(when or timezone.now(), timezone=self.zone)


class User(AbstractUser):
    """A member of staff (or an API client's account) with one role."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.ADVISOR)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    dealerships = models.ManyToManyField(
        Dealership, through="Membership", related_name="staff", verbose_name=_("dealerships"), blank=True
    )

    # Who changed a user's role, name or active flag, and when; never the password's hash.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self):
        return self.display_name or self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        # A login only stamps last_login: that is no change to audit (and would add a history row per login).
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) <= {"last_login"}:
            self.skip_history_when_saving = True
            try:
                return super().save(*args, **kwargs)
            finally:
                del self.skip_history_when_saving
        return super().save(*args, **kwargs)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    dealership = models.ForeignKey(
        Dealership, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("dealership")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "dealership"], name="uniq_membership")]

    def __str__(self):
        return f"{self.user} @ {self.dealership.code}"


class ApiToken(AbstractAuthToken):
    """A REST client's named key (django-rest-knox): only its SHA-512 digest is stored, the key is shown once.

    ``KNOX_TOKEN_MODEL`` points here. ``last_used_at`` is written at most once a minute per token
    (``dealercrm.core.auth.TokenAuthentication``), not on every request.
    """

    name = models.CharField(pgettext_lazy("API token", "name"), max_length=100)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["-created"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.token_key}…)"

    @property
    def is_expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()


class AccessEventQuerySet(models.QuerySet):
    """The access log is written once and never edited: no update, and no delete but the retention purge."""

    def update(self, **kwargs):
        raise PermissionError("The access log cannot be edited.")

    def delete(self):
        raise PermissionError("The access log cannot be deleted; expired events go with purge_expired().")

    def purge_expired(self, *, before: datetime) -> int:
        """Remove the events older than ``before`` (the retention job): the only way an event goes."""
        return self.filter(occurred_at__lt=before)._raw_delete(self.db)


class AccessEvent(models.Model):
    """A look at or an export of personal data, a data-subject action, a failed sign-in or a token change:
    who, when, what, how many customers (``dealercrm.core.access_log.record``). Append-only."""

    class Kind(models.TextChoices):
        REVEAL = "reveal", _("Full phone number shown")
        EXPORT = "export", _("Personal data exported")
        SUBJECT_EXPORT = "subject_export", _("Customer's data exported on request")
        CONSENT_EXPORT = "consent_export", _("Consent history exported")
        ERASURE = "erasure", _("Customer erased on request")
        RETENTION = "retention", _("Customers anonymised after the retention review")
        MERGE = "merge", _("Customers merged")
        LOGIN_FAILED = "login_failed", _("Failed sign-in")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")

    occurred_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    #: the user's name as it was (or the name tried, for a failed sign-in): kept if the user goes
    username = models.CharField(_("username"), max_length=150, blank=True, editable=False)
    dealership = models.ForeignKey(
        Dealership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("dealership")
    )
    #: the one customer concerned, by id (no foreign key: the event outlives an erasure or a merge)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True, editable=False)
    what = models.CharField(_("what"), max_length=200, editable=False)
    customers = models.PositiveIntegerField(_("customers"), default=0, editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)
    details = models.JSONField(_("details"), default=dict, blank=True, editable=False)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access log")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["dealership", "-occurred_at"], name="access_dealership_when_idx"),
            models.Index(fields=["customer_id"], name="access_customer_idx"),
            models.Index(fields=["occurred_at"], name="access_when_idx"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.kind} {self.username}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("The access log cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The access log cannot be deleted; expired events go with purge_expired().")
