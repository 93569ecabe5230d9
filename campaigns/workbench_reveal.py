"""The call card's "Show number": the agent working a call sees the customer's full number on purpose, logged.

The card shows the number masked (138****5678). On their OWN call the agent reveals it with the button or the
key P (static/js/workbench.js): ``calls:phone`` (an invitation on their list) and ``calls:followup-phone`` (a
follow-up call assigned to them) answer the full number as a ``tel:`` link in place of the masked one, and
write exactly one access event per request (``customers.reveal.phone_reveal``, ``via`` "call invitation <id>"
or "call touch <id>"). Another agent's call is not found (404), as on ``calls:outcome``; a call that is not
open any more answers 409 with the masked number and why. The role check (``phone.reveal``) does not apply:
the rule is the agent's own call, checked here.
"""

from __future__ import annotations

from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views import View

from customers.reveal import phone_reveal
from dealercrm.core.exceptions import ApplicationError
from followups import calls as followup_calls
from followups.models import Touch

from . import selectors
from .models import Invitation
from .workbench import WorkbenchMixin

TEMPLATE = "campaigns/workbench/_phone_revealed.html"


class _RevealMixin(WorkbenchMixin):
    def answer(self, request, *, customer, via: str, open_: bool):
        customer.dealership = self.dealership  # the call is this store's (scoped above): no second read of it
        context = {"customer": customer}
        if not open_:
            context["problem"] = _("This call is not open any more: the number is shown only while you work it.")
            return TemplateResponse(request, TEMPLATE, context, status=409)
        try:
            context["phone"] = phone_reveal(
                customer=customer, user=request.user, via=via, request=request, check_role=False
            )
        except ApplicationError as exc:  # no number on file
            context["problem"] = exc.message
            return TemplateResponse(request, TEMPLATE, context, status=exc.status)
        return TemplateResponse(request, TEMPLATE, context)


class InvitationPhoneView(_RevealMixin, View):
    """``calls:phone`` (POST): the full number of the customer of one of the agent's own invitations."""

    def post(self, request, pk):
        invitation = selectors.invitation_for_agent(agent=request.user, dealership=self.dealership, pk=pk)
        return self.answer(
            request,
            customer=invitation.customer,
            via=f"call invitation {invitation.pk}",
            open_=invitation.status in Invitation.OPEN,
        )


class FollowupPhoneView(_RevealMixin, View):
    """``calls:followup-phone`` (POST): the full number of the customer of a follow-up call assigned to the agent."""

    def post(self, request, pk):
        touch = followup_calls.touch_for_agent(agent=request.user, dealership=self.dealership, pk=pk)
        if touch is None or touch.assignee_id != request.user.pk:
            raise Http404
        return self.answer(
            request, customer=touch.customer, via=f"call touch {touch.pk}", open_=touch.status == Touch.Status.PLANNED
        )
