"""Satisfaction surveys: one per visit (or per owner event and customer), answered once through a signed link.

The link carries a token signed with its own salt (``django.core.signing``) naming the survey and its nonce (the
same link however often it is asked for). It is valid for ``SURVEY_VALID_DAYS`` days from when it was sent and
answers once: ``survey_answer`` writes the answer with a conditional ``UPDATE … WHERE answered_at IS NULL``, so
two answers at the same moment make one.
A low score (satisfaction ≤ 2 or NPS ≤ 6, the detractors) opens a complaint.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer, ServiceVisit
from dealercrm.core.audit import acting_as
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.models import Dealership

from .models import Complaint, Survey, Touch

SALT = "followups.survey.link"
#: a link answers for this many days after it was sent
SURVEY_VALID_DAYS = 14
#: a low score opens a complaint: satisfaction at or below this, or NPS at or below this (a detractor)
LOW_SATISFACTION = 2
LOW_NPS = 6
#: the audit trail's actor of what a customer's answer does (the complaint it opens)
SURVEY_ACTOR = "customer: survey answer"


class SurveyLinkError(ApplicationError):
    """A link that cannot be answered: tampered with (400), expired or used already (410)."""

    status = 400


class SurveyLinkGone(SurveyLinkError):
    status = 410


LINK_MESSAGES = {
    "survey_link_invalid": gettext_lazy(
        "This link is not complete or has been changed. Please open it again from the message we sent you."
    ),
    "survey_link_expired": gettext_lazy("This survey has closed: its link was valid for 14 days."),
    "survey_answered": gettext_lazy("This survey has already been answered. Thank you!"),
}


def _link_error(code: str) -> SurveyLinkError:
    cls = SurveyLinkError if code == "survey_link_invalid" else SurveyLinkGone
    return cls(LINK_MESSAGES[code], code=code)


# --- the link ----------------------------------------------------------------------------------------------


def survey_token(survey: Survey) -> str:
    """The signed token of the survey's link: its id and nonce, signed with the surveys' salt."""
    return signing.Signer(salt=SALT).sign_object([survey.pk, survey.nonce])


def survey_link(survey: Survey) -> str:
    """The absolute link sent to the customer."""
    base = getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/")
    return base + reverse("surveys:answer", args=[survey_token(survey)])


def survey_from_token(token: str, *, now: dt.datetime | None = None, answerable: bool = True) -> Survey:
    """The survey a link names; refuses a tampered token (400), an expired or (``answerable``) an answered
    survey (410)."""
    now = now or timezone.now()
    try:
        pk, nonce = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        raise _link_error("survey_link_invalid") from None
    survey = (
        Survey.objects.select_related("dealership", "customer", "visit", "visit__vehicle", "campaign")
        .filter(pk=pk, nonce=nonce)
        .first()
        if isinstance(pk, int) and isinstance(nonce, str)
        else None
    )
    if survey is None:
        raise _link_error("survey_link_invalid")
    if answerable and survey.answered_at is not None:
        raise _link_error("survey_answered")
    if answerable and survey.expires_at <= now:
        raise _link_error("survey_link_expired")
    return survey


# --- creating -------------------------------------------------------------------------------------------


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)[:22]


@transaction.atomic
def survey_for_visit(*, visit: ServiceVisit, touch: Touch | None = None, now: dt.datetime | None = None) -> Survey:
    """The visit's survey, created the first time (one per visit: ``Survey.visit`` is one-to-one)."""
    now = now or timezone.now()
    survey, created = Survey.objects.get_or_create(
        visit=visit,
        defaults={
            "dealership_id": visit.dealership_id,
            "customer_id": visit.customer_id,
            "touch": touch,
            "nonce": _new_nonce(),
            "sent_at": now,
            "expires_at": now + dt.timedelta(days=SURVEY_VALID_DAYS),
        },
    )
    if not created and touch is not None and survey.touch_id is None:
        Survey.objects.filter(pk=survey.pk, touch__isnull=True).update(touch=touch)
        survey.touch = touch
    return survey


@transaction.atomic
def survey_for_event(*, campaign, customer: Customer, now: dt.datetime | None = None) -> Survey:
    """The survey of an owner event (a campaign) for one of its customers, created the first time."""
    now = now or timezone.now()
    if campaign.dealership_id != customer.dealership_id:
        raise ApplicationError(_("This customer is not one of this dealership's."), code="customer_not_found")
    # One per (event, customer): the customer's row is locked so that two callers at once make one.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    survey = Survey.objects.filter(campaign=campaign, customer=customer, visit__isnull=True).first()
    if survey is None:
        survey = Survey.objects.create(
            dealership_id=customer.dealership_id,
            customer=customer,
            campaign=campaign,
            nonce=_new_nonce(),
            sent_at=now,
            expires_at=now + dt.timedelta(days=SURVEY_VALID_DAYS),
        )
    return survey


def survey_link_for_touch(touch: Touch, *, now: dt.datetime | None = None) -> str:
    """The link to send for a survey touch (the dispatcher calls this when it sends one): the visit's survey,
    created once however often it is asked for."""
    if touch.kind != Touch.Kind.SURVEY or touch.visit_id is None:
        raise ValueError(f"touch {touch.pk} is not a visit's survey")
    survey = survey_for_visit(visit=touch.visit, touch=touch, now=now)
    return survey_link(survey)


def survey_link_for_event(*, campaign, customer: Customer, now: dt.datetime | None = None) -> str:
    """The link of an owner event's survey for ``customer``."""
    return survey_link(survey_for_event(campaign=campaign, customer=customer, now=now))


# --- answering ---------------------------------------------------------------------------------------------


def is_low_score(satisfaction: int, nps: int) -> bool:
    return satisfaction <= LOW_SATISFACTION or nps <= LOW_NPS


def _unanswered(qs: QuerySet[Survey]) -> QuerySet[Survey]:
    """The guard of single use: only a survey not yet answered takes an answer."""
    return qs.filter(answered_at__isnull=True)


def _validate(satisfaction, nps, comment) -> tuple[int, int, str]:
    fields = {}
    if not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        fields["satisfaction"] = [_("Choose from 1 to 5.")]
    if not isinstance(nps, int) or not 0 <= nps <= 10:
        fields["nps"] = [_("Choose from 0 to 10.")]
    if fields:
        raise ApplicationError(_("Please answer both questions."), code="survey_answer_invalid", fields=fields)
    return satisfaction, nps, (comment or "").strip()[:2000]


@transaction.atomic
def survey_answer(
    *, survey: Survey, satisfaction: int, nps: int, comment: str = "", now: dt.datetime | None = None
) -> Survey:
    """Record the answer, once: a second answer (or one after the link expired) is refused (410). A low score
    opens a complaint (source survey) about the survey's visit."""
    now = now or timezone.now()
    satisfaction, nps, comment = _validate(satisfaction, nps, comment)
    updated = _unanswered(Survey.objects.filter(pk=survey.pk, expires_at__gt=now)).update(
        answered_at=now, satisfaction=satisfaction, nps=nps, comment=comment
    )
    if not updated:
        current = Survey.objects.filter(pk=survey.pk).values("answered_at", "expires_at").first()
        if current is None or current["answered_at"] is not None:
            raise _link_error("survey_answered")
        raise _link_error("survey_link_expired")
    survey = Survey.objects.select_related("dealership", "customer", "visit").get(pk=survey.pk)
    if is_low_score(satisfaction, nps):
        from .complaints import complaint_open

        summary = _("Survey: satisfaction %(satisfaction)d of 5, likely to recommend %(nps)d of 10.") % {
            "satisfaction": satisfaction,
            "nps": nps,
        }
        if comment:
            summary += "\n" + comment
        with acting_as(None, reason=SURVEY_ACTOR):
            complaint_open(
                dealership=survey.dealership,
                customer=survey.customer,
                source=Complaint.Source.SURVEY,
                summary=summary,
                visit=survey.visit,
                survey=survey,
                now=now,
            )
    return survey


# --- selectors ---------------------------------------------------------------------------------------------


def survey_list(*, dealership: Dealership) -> QuerySet[Survey]:
    return Survey.objects.filter(dealership=dealership).select_related("customer", "visit", "campaign")


def surveys_for_customer(*, dealership: Dealership, customer: Customer) -> QuerySet[Survey]:
    """The customer's surveys, newest first (the customer 360 page's card and the call card)."""
    return Survey.objects.filter(dealership=dealership, customer=customer).order_by("-sent_at", "-id")
