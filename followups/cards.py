"""The follow-ups module's cards on the customer 360 page: touches (due and recent), surveys and complaints.

Registered in ``FollowupsConfig.ready()`` through ``customers.cards``; each reads in one hand-written statement
(``followups.page360``, held to ``followups.selectors``' answers)."""

from __future__ import annotations

import functools

from customers.cards import CardPage

from . import page360

#: the badge of a touch that happened or stopped, by status
BADGES = {"sent": "text-bg-success", "delivered": "text-bg-success", "done": "text-bg-success"}
BADGES.update(failed="text-bg-danger", ambiguous="text-bg-danger")


def touches_card(page: CardPage) -> dict:
    """Due and recent touches with their status and reason in words: one statement. The link to a touch is
    its prefix, reversed once (not once per row)."""
    context = page360.customer_touches(dealership=page.dealership, customer=page.customer)
    for touch in context["recent"]:
        touch.badge = BADGES.get(touch.status, "text-bg-secondary")
    context["touch_url"] = _touch_url_prefix()
    return context


@functools.cache
def _touch_url_prefix() -> str:
    from django.urls import reverse

    return reverse("followups:touch-detail", args=[0])[: -len("0/")]


def surveys_card(page: CardPage) -> dict:
    """The latest surveys with their scores: one statement."""
    return {"surveys": page360.customer_surveys(dealership=page.dealership, customer=page.customer)}


def complaints_card(page: CardPage) -> dict:
    """Complaints, open ones first, with their state and deadlines: one statement."""
    return {
        "complaints": page360.customer_complaints(dealership=page.dealership, customer=page.customer, user=page.user),
        "now": page.cached("now", _now),
    }


def _now():
    from django.utils import timezone

    return timezone.now()


def register() -> None:
    from customers import cards

    cards.register(
        name="followups.touches",
        order=40,
        action="customer.view",
        template="followups/360/_touches.html",
        context=touches_card,
    )
    cards.register(
        name="followups.complaints",
        order=50,
        action="complaint.view",
        template="followups/360/_complaints.html",
        context=complaints_card,
    )
    cards.register(
        name="followups.surveys",
        order=60,
        action="customer.view",
        template="followups/360/_surveys.html",
        context=surveys_card,
    )
