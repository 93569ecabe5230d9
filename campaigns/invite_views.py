"""The invitee's mobile page (/i/<token>/): the campaign's highlights, their group's offer and a booking form.

Public: the signed token is the invitee's key (``campaigns.invites``), so these views declare no role action
(``tests/core/test_access.py`` lists them in ``PUBLIC`` with the reason). Chinese first: the page speaks
Simplified Chinese unless the visitor chose another language. A changed, expired or used link answers a
friendly page (400 / 410), never an error.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from customers.models import Vehicle
from dealercrm.core.exceptions import ApplicationError

from . import invites

REFUSALS = {
    "invalid": (
        gettext_lazy("This link does not work"),
        gettext_lazy("The link may have been cut short or changed. Open it again from the message you received."),
    ),
    "expired": (
        gettext_lazy("This invitation has ended"),
        gettext_lazy("The campaign is over, so the link no longer books. Call the store to make an appointment."),
    ),
    "used": (
        gettext_lazy("You have already booked"),
        gettext_lazy("This invitation has been used to book an appointment. We look forward to seeing you."),
    ),
    "closed": (
        gettext_lazy("This invitation is closed"),
        gettext_lazy("The invitation can no longer be booked online. Call the store to make an appointment."),
    ),
}


def _language(request) -> str:
    """Chinese first: the visitor's own choice (the language cookie) wins, else Simplified Chinese."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return chosen if chosen in dict(settings.LANGUAGES) else "zh-hans"


class InvitePageView(View):
    """GET: the invitation page; POST ``date``, ``time_slot``, ``vehicle``: book, then the confirmation."""

    template_name = "campaigns/invite/page.html"

    def dispatch(self, request, *args, **kwargs):
        with translation.override(_language(request)):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # in this language
            return response

    def refusal(self, exc: invites.LinkRefused):
        title, text = REFUSALS[exc.kind]
        context = {"title": title, "text": text, "kind": exc.kind, "invitation": exc.invitation}
        if exc.invitation is not None:
            context["dealership"] = exc.invitation.campaign.dealership
        return TemplateResponse(self.request, "campaigns/invite/refused.html", context, status=exc.status)

    def page(self, invitation, *, values=None, error=None, status=200):
        first, last = invites.booking_days(invitation)
        vehicles = list(Vehicle.objects.filter(owner_id=invitation.customer_id).order_by("pk"))
        today = invitation.campaign.dealership.local_date()
        # what booking issues (services.invitation_book): the active offers still valid today
        templates = [
            t for t in invitation.offer_templates() if t.active and not (t.valid_until and t.valid_until < today)
        ]
        values = values or {
            "date": first.isoformat(),
            "time_slot": "",
            "vehicle": str(invitation.vehicle_id or (vehicles[0].pk if vehicles else "")),
        }
        context = {
            "invitation": invitation,
            "campaign": invitation.campaign,
            "dealership": invitation.campaign.dealership,
            "offers": templates,
            "first_day": first,
            "last_day": last,
            "time_slots": invites.TIME_SLOTS,
            "vehicles": vehicles,
            "values": values,
            "error": error,
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def get(self, request, invite_token):
        try:
            invitation = invites.invitation_from_token(invite_token)
        except invites.LinkRefused as exc:
            return self.refusal(exc)
        return self.page(invitation)

    def post(self, request, invite_token):
        values = {key: request.POST.get(key, "").strip() for key in ("date", "time_slot", "vehicle")}
        try:
            invitation = invites.invitation_from_token(invite_token)
        except invites.LinkRefused as exc:
            return self.refusal(exc)
        try:
            day = date.fromisoformat(values["date"])
        except ValueError:
            return self.page(invitation, values=values, error=_("Choose the day of your visit."), status=400)
        vehicle = None
        if values["vehicle"]:
            vehicle = Vehicle.objects.filter(owner_id=invitation.customer_id, pk=values["vehicle"]).first()
            if vehicle is None or not values["vehicle"].isdigit():
                return self.page(invitation, values=values, error=_("Choose one of your vehicles."), status=400)
        try:
            booking = invites.invitation_book_by_link(
                token=invite_token, appointment_date=day, time_slot=values["time_slot"], vehicle=vehicle
            )
        except invites.LinkRefused as exc:  # booked meanwhile (another tab), or the campaign ended
            return self.refusal(exc)
        except ApplicationError as exc:
            return self.page(invitation, values=values, error=exc.message, status=400)
        context = {
            "invitation": booking.invitation,
            "campaign": booking.invitation.campaign,
            "dealership": booking.invitation.campaign.dealership,
            "appointment": booking.appointment,
            "coupons": booking.coupons,
        }
        return TemplateResponse(request, "campaigns/invite/booked.html", context)
