"""The weekly report pack: every Monday from 08:00 in each dealership's time zone, last week's (Monday to Sunday)
figures as one XLSX, stored and e-mailed to the dealership's managers, once per (week, dealership, recipient).

``weekly_packs(now)`` (the beat job's, every 15 minutes) takes each active dealership whose local time is past
a Monday 08:00, and the week before that Monday:

1. **Claim the build**: the pack's row is unique per (dealership, week); the job that inserts it builds it. A
   pack left *building* (its worker died) or *failed* is taken again by a conditional ``UPDATE`` once its
   claim (``snapshot_at``) is older than ``PACK_LEASE``, so two jobs never build it at once.
2. **Build from a frozen snapshot**: the KPIs (with the previous week and the same week last year) and every
   report's tables are read in one transaction — on PostgreSQL ``REPEATABLE READ READ ONLY``, so every sheet
   sees the same moment — then written as one workbook, a sheet per table, stored in ``WeeklyPack.file``.
3. **Send, claiming each delivery first**: for each manager (a member of the dealership whose role is after-
   sales manager, call-centre manager or administrator, active, with an e-mail address) a ``PackDelivery`` row
   is inserted as *sending* (unique per pack and recipient: the job that inserts it sends), the e-mail goes
   out, and the row becomes *sent*. A row left *sending* (the worker stopped between sending and recording)
   is never sent again blindly: once older than ``DELIVERY_LEASE`` it is marked *failed* as ambiguous (the
   e-mail may have gone) and reported, as the follow-up dispatcher does with a message in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealercrm.core.models import Dealership, User
from dealercrm.core.roles import Role

from . import exports, registry
from .models import PackDelivery, WeeklyPack
from .periods import Period
from .registry import Column, Table
from .scope import Scope

log = logging.getLogger(__name__)

SEND_AT = dt.time(8, 0)
#: a pack claimed for building this long ago and not ready is taken again
PACK_LEASE = dt.timedelta(minutes=30)
#: a delivery left "sending" this long is ambiguous: marked, reported, never resent by itself
DELIVERY_LEASE = dt.timedelta(minutes=30)
RECIPIENT_ROLES = (Role.AS_MANAGER, Role.CC_MANAGER, Role.ADMIN)

AMBIGUOUS = gettext_lazy(
    "The sending worker stopped between sending this e-mail and recording it: whether it was sent is unknown, "
    "so it is not sent again by itself."
)


def due_week(dealership: Dealership, now: dt.datetime) -> dt.date:
    """The Monday of the week whose pack is due at ``now``: the week before the latest Monday 08:00 (local)."""
    local = now.astimezone(dealership.zone)
    monday = local.date() - dt.timedelta(days=local.weekday())
    if local.weekday() == 0 and local.time() < SEND_AT:
        monday -= dt.timedelta(days=7)
    return monday - dt.timedelta(days=7)


def week_period(week_start: dt.date) -> Period:
    return Period(week_start, week_start + dt.timedelta(days=6))


def recipients(dealership: Dealership):
    """The dealership's managers who receive its pack."""
    return (
        User.objects.filter(memberships__dealership=dealership, role__in=RECIPIENT_ROLES, is_active=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


# --- the snapshot and the workbook ---------------------------------------------------------------------------


@contextmanager
def frozen_snapshot():
    """One read-only transaction in which every read sees the same moment. On PostgreSQL it is REPEATABLE READ
    READ ONLY (set as the transaction's first statement, so only when no transaction is open already); SQLite's
    one transaction already reads one state."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def kpi_table(scope: Scope, period: Period) -> Table:
    """Every KPI for ``period`` with the previous period's and last year's figure and the changes. A row's
    ``_kinds`` gives its own unit's kind to the figure columns (exports read it)."""
    columns = [
        Column("label", gettext_lazy("Figure"), "text"),
        Column("current", gettext_lazy("This period"), "decimal"),
        Column("previous", gettext_lazy("Previous period"), "decimal"),
        Column("last_year", gettext_lazy("Same period last year"), "decimal"),
        Column("change_previous", gettext_lazy("Change on previous period"), "text"),
        Column("change_last_year", gettext_lazy("Change on last year"), "text"),
        Column("definition", gettext_lazy("Definition"), "text"),
    ]
    rows = []
    for kpi in registry.kpis():
        compared = registry.compare(kpi, scope, period)
        kind = registry.UNIT_KIND[kpi.unit]
        rows.append(
            {
                "label": str(kpi.label),
                "current": compared.current.value,
                "previous": compared.previous.value,
                "last_year": compared.last_year.value,
                "change_previous": registry.display_change(compared.change_previous, kpi.unit),
                "change_last_year": registry.display_change(compared.change_last_year, kpi.unit),
                "definition": str(kpi.definition),
                "_kinds": {"current": kind, "previous": kind, "last_year": kind},
            }
        )
    return Table(key="kpis", title=gettext_lazy("Key figures"), columns=columns, rows=rows)


def pack_params(report: registry.Report, scope: Scope, period: Period) -> list[dict]:
    """The parameter sets a report is built with in a pack: none, or, for a report that needs a campaign, each
    campaign of the store that ran during the week (none ran: the report is left out)."""
    needs = [param.name for param in report.params if param.required]
    if not needs:
        return [{}]
    if needs != ["campaign"]:
        return []
    from campaigns.models import Campaign

    campaigns = Campaign.objects.filter(
        dealership_id__in=scope.dealership_ids, starts_on__lte=period.end, ends_on__gte=period.start
    ).order_by("starts_on", "pk")
    return [{"campaign": str(campaign.pk), "_name": campaign.name} for campaign in campaigns]


def pack_sheets(dealership: Dealership, period: Period) -> list[exports.Sheet]:
    """The pack's sheets: the key figures, then every report's tables."""
    scope = Scope.of(dealership)
    heading = f"{dealership.name} · {period.start.isoformat()} – {period.end.isoformat()}"
    sheets = [exports.Sheet(name=_("Key figures"), table=kpi_table(scope, period), heading=heading)]
    for report in registry.reports():
        for params in pack_params(report, scope, period):
            name = params.pop("_name", "")
            tables = exports.build(report, scope, period, params)
            label = f"{report.title} {name}".strip()
            sheets += exports.report_sheets(tables, heading=f"{label} · {heading}", prefix=f"{label} ")
    return sheets


# --- claiming and building -------------------------------------------------------------------------------------


def pack_claim(dealership: Dealership, week_start: dt.date, now: dt.datetime) -> tuple[WeeklyPack, bool]:
    """The pack of (dealership, week) and whether this job is to build it."""
    try:
        with transaction.atomic():
            pack = WeeklyPack.objects.create(
                dealership=dealership, week_start=week_start, status=WeeklyPack.Status.BUILDING, snapshot_at=now
            )
        return pack, True
    except IntegrityError:
        pack = WeeklyPack.objects.get(dealership=dealership, week_start=week_start)
    if pack.status == WeeklyPack.Status.READY:
        return pack, False
    if pack.snapshot_at is not None and pack.snapshot_at > now - PACK_LEASE:
        return pack, False  # another job is building it (or it failed a moment ago)
    taken = WeeklyPack.objects.filter(pk=pack.pk, status=pack.status, snapshot_at=pack.snapshot_at).update(
        status=WeeklyPack.Status.BUILDING, snapshot_at=now, error=""
    )
    pack.refresh_from_db()
    return pack, bool(taken)


def pack_build(pack: WeeklyPack) -> WeeklyPack:
    """Build ``pack`` (claimed by ``pack_claim``) from a frozen snapshot and store its workbook."""
    dealership = pack.dealership
    period = week_period(pack.week_start)
    try:
        with translation.override(settings.LANGUAGE_CODE), frozen_snapshot():
            snapshot_at = timezone.now()
            sheets = pack_sheets(dealership, period)
        with translation.override(settings.LANGUAGE_CODE):
            content = exports.tables_xlsx(sheets)
        name = f"{dealership.code}-{pack.week_start:%Y%m%d}.xlsx"
        pack.file.save(name, ContentFile(content), save=False)
    except Exception as exc:
        log.exception("weekly pack %s of %s failed", pack.week_start, dealership.code)
        WeeklyPack.objects.filter(pk=pack.pk).update(status=WeeklyPack.Status.FAILED, error=str(exc)[:2000])
        pack.refresh_from_db()
        return pack
    WeeklyPack.objects.filter(pk=pack.pk, status=WeeklyPack.Status.BUILDING).update(
        status=WeeklyPack.Status.READY, file=pack.file.name, snapshot_at=snapshot_at, built_at=timezone.now()
    )
    pack.refresh_from_db()
    return pack


# --- sending -----------------------------------------------------------------------------------------------------


def _language(user) -> str:
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def pack_message(pack: WeeklyPack, user, content: bytes) -> EmailMessage:
    """The e-mail of ``pack`` to ``user``, in their language, with the workbook attached."""
    period = week_period(pack.week_start)
    with translation.override(_language(user)):
        values = {"store": pack.dealership.name, "start": period.start.isoformat(), "end": period.end.isoformat()}
        subject = _("Weekly report pack: %(store)s, %(start)s – %(end)s") % values
        body = _(
            "Hello %(name)s,\n\nattached is the weekly report pack of %(store)s for the week %(start)s – %(end)s: "
            "the key figures with the week before and the same week last year, and every report's tables.\n\n"
            "DealerCRM"
        ) % {**values, "name": str(user)}
    message = EmailMessage(subject, body, to=[user.email])
    message.attach(f"{pack.dealership.code}-{pack.week_start:%Y%m%d}.xlsx", content, exports.XLSX_CONTENT_TYPE)
    return message


def _claim_delivery(pack: WeeklyPack, user) -> PackDelivery | None:
    try:
        with transaction.atomic():
            return PackDelivery.objects.create(
                pack=pack, recipient=user, email=user.email, status=PackDelivery.Status.SENDING
            )
    except IntegrityError:
        return None  # another job claimed it first


def pack_deliver(pack: WeeklyPack, now: dt.datetime) -> dict:
    """E-mail ``pack`` (ready) to each recipient who has no delivery yet; mark the stale *sending* ones."""
    counts = {"sent": 0, "failed": 0, "ambiguous": 0}
    existing = {delivery.recipient_id: delivery for delivery in pack.deliveries.all()}
    content = None
    for user in recipients(pack.dealership):
        delivery = existing.get(user.pk)
        if delivery is not None:
            stale = delivery.status == PackDelivery.Status.SENDING and delivery.created_at < now - DELIVERY_LEASE
            if stale and PackDelivery.objects.filter(pk=delivery.pk, status=PackDelivery.Status.SENDING).update(
                status=PackDelivery.Status.FAILED, error=str(AMBIGUOUS)
            ):
                counts["ambiguous"] += 1
                log.warning("weekly pack %s to %s: ambiguous (left sending), not resent", pack.pk, delivery.email)
            continue
        delivery = _claim_delivery(pack, user)
        if delivery is None:
            continue
        if content is None:
            with pack.file.open("rb") as handle:
                content = handle.read()
        try:
            pack_message(pack, user, content).send()
        except Exception as exc:
            log.exception("weekly pack %s to %s failed", pack.pk, user.email)
            PackDelivery.objects.filter(pk=delivery.pk).update(status=PackDelivery.Status.FAILED, error=str(exc)[:2000])
            counts["failed"] += 1
            continue
        PackDelivery.objects.filter(pk=delivery.pk, status=PackDelivery.Status.SENDING).update(
            status=PackDelivery.Status.SENT, sent_at=timezone.now()
        )
        counts["sent"] += 1
    return counts


def weekly_packs(now: dt.datetime | None = None) -> dict:
    """The beat job: build and send every due pack (see the module's docstring). Returns what it did."""
    now = now or timezone.now()
    totals = {"built": 0, "failed_builds": 0, "sent": 0, "failed": 0, "ambiguous": 0}
    for dealership in Dealership.objects.filter(is_active=True).order_by("pk"):
        pack, mine = pack_claim(dealership, due_week(dealership, now), now)
        if mine:
            pack = pack_build(pack)
            totals["built" if pack.status == WeeklyPack.Status.READY else "failed_builds"] += 1
        if pack.status != WeeklyPack.Status.READY:
            continue
        for key, count in pack_deliver(pack, now).items():
            totals[key] += count
    return totals
