"""Consent recorded on a call, from the workbench's call card (``calls:consent``, ``calls:followup-consent``).

The card shows the store's consent text (``customers.consent.consent_text_for``) behind key C: the agent reads it
to the customer, then records the answer with 1 (granted) or 2 (withdrawn) (static/js/workbench.js; the
picker is ``templates/campaigns/workbench/_consent.html``). The event is a consent through the phone, recorded by
the agent, with its proof: the text read (posted back with the answer) and the call's reference
("invitation 12" or "touch 34"). Only the agent whose invitation or follow-up call it is may record it (404
otherwise). The answer is the same card again with what was recorded (htmx), the fields typed into the outcome
form kept; should the store's text have changed since the card was shown, 422 and the card with the new text.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from customers import services as customer_services
from customers.consent import consent_text_for
from customers.models import ConsentChannel
from dealercrm.core.exceptions import ApplicationError
from followups import calls as followup_calls

from . import selectors
from .workbench import WorkbenchMixin

#: the outcome form's fields the consent form carries along (``hx-include``), so that nothing typed is lost
KEPT_VALUES = ("appointment_date", "time_slot", "call_back_at", "note")


class _ConsentOnCallView(WorkbenchMixin, View):
    def target(self, pk):
        """The invitation or touch (as ``("invitation"|"touch", record)``) and its customer."""
        raise NotImplementedError

    def post(self, request, pk):
        now = timezone.now()
        kind, record = self.target(pk)
        customer = record.customer
        granted = {"1": True, "0": False}.get(request.POST.get("granted", ""))
        shown = (request.POST.get("text_shown") or "").strip()
        current_text = consent_text_for(self.dealership)
        problem = None
        if granted is None:
            problem = _("Choose what the customer answered: granted or withdrawn.")
        elif shown != current_text.strip():
            problem = _("The store's consent text has changed since this card was shown: read the new text below.")
        else:
            try:
                customer_services.consent_record(
                    customer=customer,
                    granted=granted,
                    channel=ConsentChannel.PHONE,
                    acting_user=request.user,
                    text_shown=current_text,
                    reference=f"{kind} {record.pk}",
                )
            except ApplicationError as exc:
                problem = exc.message
        if problem is None:
            if granted:
                text = _("%(name)s agreed to offers on this call: consent recorded with the text you read.")
            else:
                text = _("%(name)s withdrew their consent on this call: marketing to them stops.")
            text %= {"name": customer.name}
        if not request.htmx:
            if problem is None:
                messages.success(request, text)
            else:
                messages.error(request, problem)
            return redirect("calls:workbench")
        values = {name: request.POST.get(name, "") for name in KEPT_VALUES}
        target = {kind: record}
        if problem is not None:
            context = self.current_context(now=now, values=values, **target)
            context["consent_error"] = problem  # the consent picker opens with it
            return self.render_current(context, status=422)
        context = self.current_context(now=now, feedback={"level": "success", "text": text}, values=values, **target)
        return self.render_current(context)


class InvitationConsentView(_ConsentOnCallView):
    """Consent recorded on a campaign call: one of the agent's invitations."""

    def target(self, pk):
        invitation = selectors.invitation_for_agent(agent=self.request.user, dealership=self.dealership, pk=pk)
        return "invitation", invitation


class FollowupConsentView(_ConsentOnCallView):
    """Consent recorded on a follow-up call: a call task assigned to the agent."""

    def target(self, pk):
        touch = followup_calls.touch_for_agent(agent=self.request.user, dealership=self.dealership, pk=pk)
        if touch is None or touch.assignee_id != self.request.user.pk:
            raise Http404
        return "touch", touch
