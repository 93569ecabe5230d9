"""The campaigns module's cards on the customer 360 page and its marks on the counter's arrivals.

Registered in ``CampaignsConfig.ready()`` through ``customers.cards``, so that customers never imports
campaigns."""

from __future__ import annotations

from customers.cards import CardPage
from customers.models import Appointment

from . import callcard, selectors, services


def _vip_invitations(page: CardPage) -> dict:
    """The campaign invitation behind each booked campaign appointment from today on (the VIP "green channel"):
    one query, only when there is such an appointment; read once for both cards."""

    def read():
        booked = [
            a.pk
            for a in page.appointments
            if a.source == Appointment.Source.CAMPAIGN
            and a.status == Appointment.Status.BOOKED
            and a.date >= page.today
        ]
        if not booked:
            return {}
        return selectors.arrivals_invitations(dealership=page.dealership, appointment_ids=booked)

    return page.cached("campaigns.vip_invitations", read)


def vip_flag(page: CardPage) -> dict:
    """The badge under the customer's name; marks the appointments the invitations are behind."""
    invitations = _vip_invitations(page)
    for appointment in page.appointments:
        appointment.invitation = invitations.get(appointment.pk)
    vip = next((a for a in sorted(page.appointments, key=lambda a: a.date) if a.invitation), None)
    return {"vip": vip}


def coupons_card(page: CardPage) -> dict:
    """The customer's open coupons (one statement: ``callcard.coupons_open``), each redeemable on those of the
    five latest visits it may be used on (``visit_choices``: the redemption rule,
    ``services.coupon_visit_choices``; no query)."""
    coupons = callcard.coupons_open(dealership=page.dealership, customer_id=page.customer.pk, today=page.today)
    recent = page.visits[:5]
    for coupon in coupons:
        coupon.visit_choices = services.coupon_visit_choices(
            coupon=coupon, visits=recent, today=page.today, dealership=page.dealership
        )
    return {"coupons": coupons, "recent_visits": recent}


def arrival_marks(*, dealership, appointments: list, today) -> None:
    """The counter's arrivals: the invitation behind each (the VIP mark) and the customer's open coupons.
    Two queries however long the list."""
    if not appointments:
        return
    invitations = selectors.arrivals_invitations(dealership=dealership, appointment_ids=[a.pk for a in appointments])
    coupons = selectors.coupons_open_by_customer(
        dealership=dealership, customer_ids={a.customer_id for a in appointments}, today=today
    )
    for appointment in appointments:
        appointment.invitation = invitations.get(appointment.pk)
        appointment.open_coupons = coupons.get(appointment.customer_id, [])
