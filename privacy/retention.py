"""Keeping personal data no longer than needed (PIPL): the retention review.

A customer is **due for review** when, for ``CUSTOMER_RETENTION_YEARS`` (settings, default 5), nothing has
happened with them: no service visit opened, no follow-up touch due, no consent event, and their record is
itself older than that; and they are not erased already. Exactly: with the store's today ``T`` and the cut-off
day ``C`` = ``T`` less that many years (29 February → 28 February), a visit opened on ``C`` or later, a touch
due or a consent event on ``C`` or later (the store's days), or a record created on ``C`` or later keeps the
customer; anything before ``C`` does not.

The managers list them (``retention_candidates``) and anonymise them in bulk (``retention_anonymise``) with
the rule of an erasure (``privacy.anonymise``), set-based, with one access event of kind ``retention``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet, Subquery
from django.utils import timezone

from customers.models import ConsentEvent, Customer, ServiceVisit
from dealercrm.core import access_log
from dealercrm.core.audit import audited
from dealercrm.core.models import Dealership
from followups.models import Touch

from . import anonymise


def retention_years() -> int:
    return int(getattr(settings, "CUSTOMER_RETENTION_YEARS", 5))


def cutoff_date(today: dt.date, years: int | None = None) -> dt.date:
    """``today`` less ``years`` (the setting's by default); 29 February of a year without one: 28 February."""
    years = retention_years() if years is None else years
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def cutoff(dealership: Dealership, *, today: dt.date | None = None) -> tuple[dt.date, dt.datetime]:
    """The cut-off day in the store and its first moment (aware)."""
    day = cutoff_date(today or dealership.local_date())
    return day, dt.datetime.combine(day, dt.time.min, tzinfo=dealership.zone)


def due_for_review(*, dealership: Dealership, today: dt.date | None = None) -> QuerySet[Customer]:
    """The store's customers due for review (see the module): the rule, written once."""
    day, moment = cutoff(dealership, today=today)
    return (
        Customer.objects.filter(dealership=dealership, erased_at__isnull=True, created_at__lt=moment)
        .exclude(Exists(ServiceVisit.objects.filter(customer=OuterRef("pk"), opened_on__gte=day)))
        .exclude(Exists(Touch.objects.filter(customer=OuterRef("pk"), due_at__gte=moment)))
        .exclude(Exists(ConsentEvent.objects.filter(customer=OuterRef("pk"), occurred_at__gte=moment)))
    )


def retention_candidates(*, dealership: Dealership, today: dt.date | None = None) -> QuerySet[Customer]:
    """``due_for_review`` with their last visit (``last_visit_on``), the longest quiet first."""
    visits = ServiceVisit.objects.filter(customer=OuterRef("pk"))
    return (
        due_for_review(dealership=dealership, today=today)
        .annotate(
            last_visit_on=Subquery(
                visits.order_by().values("customer").annotate(last=Max("opened_on")).values("last")[:1]
            )
        )
        .order_by("last_visit_on", "created_at", "pk")
    )


@audited
@transaction.atomic
def retention_anonymise(
    *, dealership: Dealership, ids=None, acting_user=None, request=None, today: dt.date | None = None
) -> list[int]:
    """Anonymise the store's customers due for review: all of them, or those of ``ids`` that still are (a
    customer who came back meanwhile is left alone). Returns the ids anonymised; one ``retention`` access event
    with their number and ids (none when there were none). A fixed number of queries, whatever the number."""
    candidates = due_for_review(dealership=dealership, today=today)
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    chosen = list(candidates.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
    if not chosen:
        return []
    now = timezone.now()
    closed = anonymise.anonymise(customer_ids=chosen, now=now)
    access_log.record(
        access_log.Kind.RETENTION,
        user=acting_user,
        dealership=dealership,
        what="retention",
        customers=len(chosen),
        request=request,
        details={"count": len(chosen), "ids": chosen, "years": retention_years(), "closed": closed},
    )
    return chosen
