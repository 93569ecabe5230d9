"""The call-centre agent's workbench and the counter's coupon desk (under /calls/).

The workbench is one page that never reloads (keys 1–6 record no answer, busy, wrong number, declined, call
back and accepted; 4 opens a picker of the reasons to decline, chosen with a number key:
static/js/workbench.js): htmx fetches the head of the agent's one queue (``calls:next``): a campaign invitation
or a follow-up call (``followups.calls``), by priority and due time. Each outcome (``calls:outcome`` for an
invitation, ``calls:followup-outcome`` for a follow-up call, whose keys are 6 reached, with a picker of the
satisfaction score on a satisfaction call, and 7 complaint raised) records the call and answers with the next
customer, so one POST is one call; the card itself is read by ``campaigns.callcard``. Today's counts are a
partial of their own (``calls:counts``): the answers 200 and 409 (a call recorded, here or a moment ago elsewhere) carry
``HX-Trigger: calls-changed``, on which the page asks for them, at most every few seconds, and it asks every
minute besides. The outcome's form fields are a contract (a benchmark and the page share them): ``outcome``,
``appointment_date`` (YYYY-MM-DD), ``time_slot``, ``call_back_at`` (YYYY-MM-DDTHH:MM, the dealership's local
time), ``note`` and ``reason`` (declined: one of ``CallAttempt.DeclineReason``; a reason posted without an
outcome is "declined"); a follow-up call's also ``satisfaction`` (1–5).

Status codes of ``calls:outcome`` for htmx (``HX-Request: true``): 200 recorded (the next customer follows);
422 refused (the same customer comes back with the reason and what was typed); 409 the customer is not due
any more (recorded a moment ago, or closed): the next customer follows with a warning; 404 not one of the
agent's invitations. Without ``HX-Request`` the outcome is recorded all the same and the answer is a redirect
to the workbench, with what happened as a message (the page degrades to plain forms).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from django_htmx.http import trigger_client_event

from customers import contact
from customers import selectors as customer_selectors
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.views import DealershipMixin, refused
from followups import calls as followup_calls
from followups.models import Touch, TouchAttempt
from segmentation.talking_points import TALKING_POINTS

from . import callcard, selectors, services
from .models import CallAttempt, Coupon, Invitation

Outcome = CallAttempt.Outcome

#: the time slots offered for an appointment (any text of up to 20 characters is accepted)
TIME_SLOTS = [f"{h:02d}:{m:02d}" for h in range(8, 18) for m in (0, 30)][1:]  # 08:30 … 17:30
#: calls are made between these hours (local time): a default call-back time falls inside them
DAY_STARTS, DAY_ENDS = 9, 20
#: the event a recorded call sends to the page (``HX-Trigger``): today's counts are refreshed on it
CALLS_CHANGED = "calls-changed"
#: how many of the customer's visits the redeem form offers, newest first
RECENT_VISITS = 5


def _local(moment: datetime, dealership) -> str:
    return timezone.localtime(moment, dealership.zone).strftime("%Y-%m-%d %H:%M")


def default_call_back(now: datetime, zone: ZoneInfo) -> datetime:
    """An hour from now, on the next quarter hour, inside calling hours (else 10:00 the next day)."""
    local = timezone.localtime(now, zone) + timedelta(hours=1)
    local = local.replace(second=0, microsecond=0) + timedelta(minutes=-local.minute % 15)
    if local.hour < DAY_STARTS:
        local = local.replace(hour=10, minute=0)
    elif local.hour >= DAY_ENDS or local.date() != timezone.localtime(now, zone).date():
        local = (timezone.localtime(now, zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return local


def default_appointment_day(today: date, campaign) -> date:
    """Tomorrow, kept inside the campaign's period."""
    return max(today, min(today + timedelta(days=1), campaign.ends_on))


# --- The workbench ---------------------------------------------------------------------------------------


class WorkbenchMixin(DealershipMixin):
    action = "calls.work"

    def now(self) -> datetime:
        return timezone.now()

    def counts(self, now):
        return selectors.today_counts(agent=self.request.user, dealership=self.dealership, now=now)

    def current_context(self, *, now, invitation=None, touch=None, feedback=None, error=None, values=None) -> dict:
        """What the partial shows: the call card of ``invitation`` or ``touch`` (default: the head of the agent's
        one queue, an invitation or a follow-up call) with the customer's summary and contact history, the script
        (and the offer of an invitation's variant) and the outcome form; or the empty state."""
        dealership = self.dealership
        zone = dealership.zone
        today = timezone.localdate(now, zone)
        agent = self.request.user
        if invitation is not None:
            card = callcard.call_card(dealership=dealership, pk=invitation.pk, now=now)
        elif touch is not None:
            card = callcard.touch_card(dealership=dealership, pk=touch.pk, now=now)
        else:
            card = callcard.next_call_card(agent=agent, dealership=dealership, now=now)
        context = {
            "invitation": card and card.invitation,
            "touch": card and card.touch,
            "feedback": feedback,
            "error": error,
            "today": today,
            "zone": dealership.time_zone or "Asia/Shanghai",
        }
        if card is None:
            context["next_due_at"] = selectors.agent_next_due_at(agent=agent, dealership=dealership, now=now)
            return context
        segment, customer = card.segment, card.customer
        values = values or {}
        context.update(
            customer=customer,
            segment=segment,
            talking_point=TALKING_POINTS.get(segment.c3_group) if segment else None,
            last_visit=card.last_visit,
            coupons=card.coupons,
            history=card.history,
            decline_reasons=CallAttempt.DeclineReason.choices,
            min_call_back=timezone.localtime(now, zone).strftime("%Y-%m-%dT%H:%M"),
            values={
                "call_back_at": values.get("call_back_at") or default_call_back(now, zone).strftime("%Y-%m-%dT%H:%M"),
                "note": values.get("note", ""),
            },
        )
        if card.touch is not None:
            touch = card.touch
            context.update(
                contact_refusal=contact.refusal(customer, touch.touch_class, "call"),
                # masked on the card; the agent's own call reveals it on purpose (campaigns.workbench_reveal)
                phone_reveal_url=(
                    reverse("calls:followup-phone", args=[touch.pk]) if touch.assignee_id == agent.pk else ""
                ),
                vehicle=card.vehicle,
                visit=touch.visit,
                campaign=touch.invitation.campaign if touch.invitation_id else None,
                complaint=touch.complaint,
                script=followup_calls.script_for(touch.kind, dealership.name),
                asks_satisfaction=touch.kind in followup_calls.SATISFACTION_KINDS,
                scores=range(1, 6),
                attempt_number=touch.attempts + 1,
            )
            return context
        invitation = card.invitation
        campaign = invitation.campaign
        context.update(
            contact_refusal=contact.refusal(customer, contact.MARKETING, "call"),
            group=invitation.target_group,
            campaign=campaign,
            vehicle=invitation.vehicle,
            phone_reveal_url=reverse("calls:phone", args=[invitation.pk]) if invitation.agent_id == agent.pk else "",
            script=invitation.script,
            offers=card.offers,
            attempt_number=invitation.attempts + 1,
            time_slots=TIME_SLOTS,
            min_day=today,
            max_day=campaign.ends_on,
        )
        context["values"].update(
            appointment_date=values.get("appointment_date") or default_appointment_day(today, campaign).isoformat(),
            time_slot=values.get("time_slot", ""),
        )
        return context

    def render_current(self, context, status=200, *, calls_changed=False):
        response = TemplateResponse(self.request, "campaigns/workbench/_current.html", context, status=status)
        if calls_changed:  # the page refreshes today's counts (static/js/workbench.js)
            trigger_client_event(response, CALLS_CHANGED)
        return response


class WorkbenchView(WorkbenchMixin, TemplateView):
    """The page: today's counts, the keys, and a place where htmx loads the next customer."""

    template_name = "campaigns/workbench/page.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counts"] = self.counts(self.now())
        return context


class NextCustomerView(WorkbenchMixin, View):
    """The partial: the agent's next customer to call (or the empty state)."""

    def get(self, request):
        return self.render_current(self.current_context(now=self.now()))


class CountsView(WorkbenchMixin, View):
    """The partial: today's counts (the page asks for them after calls are recorded, and every minute)."""

    def get(self, request):
        context = {"counts": self.counts(self.now())}
        return TemplateResponse(request, "campaigns/workbench/_counts.html", context)


def _call_back_at(data, zone: ZoneInfo) -> datetime | None:
    raw = (data.get("call_back_at") or "").strip()
    try:
        moment = parse_datetime(raw) if raw else None
    except ValueError:
        moment = None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, zone)
    return moment


CALL_BACK_FORMAT = gettext_lazy("Give the call-back time as a day and a time (YYYY-MM-DD HH:MM).")


def parse_outcome(data, zone: ZoneInfo) -> tuple[dict, str | None]:
    """The service's arguments from the posted fields, or the reason they are unusable.

    Only the fields of the chosen outcome are read: a date left in the form is ignored on "no answer". A
    ``reason`` posted without an outcome (the decline picker's buttons) is "declined" for that reason.
    """
    outcome = (data.get("outcome") or "").strip()
    if not outcome and data.get("reason"):
        outcome = Outcome.DECLINED
    if outcome not in Outcome.values:
        return {}, _("Choose an outcome: no answer, busy, wrong number, declined, call back or accepted.")
    arguments = {"outcome": outcome, "note": (data.get("note") or "").strip()[:200]}
    if outcome == Outcome.DECLINED:
        arguments["reason"] = (data.get("reason") or "").strip()
    if outcome == Outcome.ACCEPTED:
        raw = (data.get("appointment_date") or "").strip()
        try:
            day = parse_date(raw) if raw else None
        except ValueError:
            day = None
        if day is None:
            return arguments, _("Give the appointment date as a day (YYYY-MM-DD).")
        arguments["appointment_date"] = day
        arguments["time_slot"] = (data.get("time_slot") or "").strip()[:20]
    elif outcome == Outcome.CALL_BACK:
        moment = _call_back_at(data, zone)
        if moment is None:
            return arguments, str(CALL_BACK_FORMAT)
        arguments["call_back_at"] = moment
    return arguments, None


def parse_followup_outcome(data, zone: ZoneInfo) -> tuple[dict, str | None]:
    """``followups.calls.followup_call_record``'s arguments from the posted fields, or why they are unusable.
    A ``reason`` posted without an outcome is "declined" for that reason; a ``satisfaction`` score without one
    is "reached" with that score (the pickers' buttons)."""
    FollowupOutcome = TouchAttempt.Outcome
    outcome = (data.get("outcome") or "").strip()
    if not outcome and data.get("reason"):
        outcome = FollowupOutcome.DECLINED
    elif not outcome and data.get("satisfaction"):
        outcome = FollowupOutcome.DONE
    if outcome not in FollowupOutcome.values:
        return {}, _("Choose an outcome: reached, no answer, busy, wrong number, declined, call back or complaint.")
    arguments = {"outcome": outcome, "note": (data.get("note") or "").strip()[:500]}
    if outcome == FollowupOutcome.DECLINED:
        arguments["reason"] = (data.get("reason") or "").strip()
    if outcome in (FollowupOutcome.DONE, FollowupOutcome.COMPLAINT) and data.get("satisfaction"):
        arguments["satisfaction"] = data.get("satisfaction")
    if outcome == FollowupOutcome.CALL_BACK:
        moment = _call_back_at(data, zone)
        if moment is None:
            return arguments, str(CALL_BACK_FORMAT)
        arguments["call_back_at"] = moment
    return arguments, None


def _workable(invitation: Invitation, now: datetime) -> bool:
    """Whether the invitation is one to call now (not recorded a moment ago, not closed, and the customer may
    still be called)."""
    return (
        invitation.customer.can_be_marketed
        and invitation.status in Invitation.OPEN
        and (invitation.next_call_at is None or invitation.next_call_at <= now)
        and invitation.attempts < invitation.campaign.max_attempts
    )


def recorded_message(attempt: CallAttempt, dealership) -> str:
    """What the agent reads after a call was recorded."""
    invitation = attempt.invitation
    name = invitation.customer.name
    if attempt.outcome in (Outcome.NO_ANSWER, Outcome.BUSY):
        what = attempt.get_outcome_display()
        if invitation.status == Invitation.Status.UNREACHED:
            return _("%(name)s: %(what)s. That was the last attempt: the customer leaves your list.") % {
                "name": name,
                "what": what,
            }
        return _("%(name)s: %(what)s. They come back to your list from %(time)s.") % {
            "name": name,
            "what": what,
            "time": _local(invitation.next_call_at, dealership),
        }
    if attempt.outcome == Outcome.WRONG_NUMBER:
        return _("%(name)s: wrong number. The customer is flagged for a data check and leaves every call list.") % {
            "name": name
        }
    if attempt.outcome == Outcome.DECLINED:
        return _("%(name)s declined (%(reason)s).") % {"name": name, "reason": attempt.get_reason_display()}
    if attempt.outcome == Outcome.CALL_BACK:
        return _("%(name)s: call back at %(time)s.") % {"name": name, "time": _local(attempt.call_back_at, dealership)}
    appointment = invitation.appointment
    issued = Coupon.objects.filter(invitation=invitation).count()
    text = _("%(name)s accepted: appointment on %(day)s %(slot)s.") % {
        "name": name,
        "day": date_format(appointment.date, "Y-m-d"),
        "slot": appointment.time_slot or _("(any time)"),
    }
    if issued:
        text += " " + _("Coupons issued: %(n)d.") % {"n": issued}
    return text


class OutcomeView(WorkbenchMixin, View):
    """Record one call (POST) and answer with the next customer; see the module's docstring."""

    def post(self, request, pk):
        now = self.now()
        arguments, problem = parse_outcome(request.POST, self.dealership.zone)
        attempt = None
        status = 422  # a value the agent can correct on the card
        with transaction.atomic():  # the invitation is read under its row lock and recorded in one go
            invitation = selectors.invitation_for_agent(
                agent=request.user, dealership=self.dealership, pk=pk, for_update=problem is None
            )
            workable = _workable(invitation, now)
            if problem is None and workable:
                try:
                    attempt = services.call_record(
                        invitation=invitation, agent=request.user, now=now, locked=True, **arguments
                    )
                except ApplicationError as exc:
                    problem = exc.message
                    if exc.status != 400:  # e.g. the campaign finished meanwhile: 409, as in the API
                        status = exc.status
        if problem is None and not workable:
            return self.stale(invitation, now)
        if problem is not None:
            if not request.htmx:
                messages.error(request, problem)
                return redirect("calls:workbench")
            values = {name: request.POST.get(name, "") for name in ("appointment_date", "time_slot", "call_back_at")}
            values["note"] = request.POST.get("note", "")
            context = self.current_context(now=now, invitation=invitation, error=problem, values=values)
            context["error_outcome"] = arguments.get("outcome")
            return self.render_current(context, status=status)
        feedback = {"level": "success", "text": recorded_message(attempt, self.dealership)}
        if not request.htmx:
            messages.success(request, feedback["text"])
            return redirect("calls:workbench")
        return self.render_current(self.current_context(now=now, feedback=feedback), calls_changed=True)

    def stale(self, invitation, now):
        if not invitation.customer.can_be_marketed:
            text = _(
                "%(name)s may no longer be called (consent withdrawn, do-not-contact or a wrong number). "
                "Nothing was added."
            ) % {"name": invitation.customer.name}
        elif invitation.status in Invitation.OPEN and invitation.next_call_at and invitation.next_call_at > now:
            text = _("%(name)s was already recorded; they are due again at %(time)s. Nothing was added.") % {
                "name": invitation.customer.name,
                "time": _local(invitation.next_call_at, self.dealership),
            }
        else:
            text = _("%(name)s is no longer on your list to call (%(status)s). Nothing was added.") % {
                "name": invitation.customer.name,
                "status": invitation.get_status_display().lower(),
            }
        if not self.request.htmx:
            messages.warning(self.request, text)
            return redirect("calls:workbench")
        context = self.current_context(now=now, feedback={"level": "warning", "text": text})
        return self.render_current(context, 409, calls_changed=True)


def followup_recorded_message(attempt: TouchAttempt, dealership) -> str:
    """What the agent reads after a follow-up call was recorded."""
    FollowupOutcome = TouchAttempt.Outcome
    touch = attempt.touch
    name, what = touch.customer.name, attempt.get_outcome_display()
    if attempt.outcome in (FollowupOutcome.NO_ANSWER, FollowupOutcome.BUSY):
        if touch.status == Touch.Status.FAILED:
            return _("%(name)s: %(what)s. That was the last attempt: the follow-up call is closed.") % {
                "name": name,
                "what": what,
            }
        return _("%(name)s: %(what)s. They come back to your list from %(time)s.") % {
            "name": name,
            "what": what,
            "time": _local(touch.due_at, dealership),
        }
    if attempt.outcome == FollowupOutcome.WRONG_NUMBER:
        return _("%(name)s: wrong number. The customer is flagged for a data check and leaves every call list.") % {
            "name": name
        }
    if attempt.outcome == FollowupOutcome.DECLINED:
        return _("%(name)s declined (%(reason)s).") % {
            "name": name,
            "reason": CallAttempt.DeclineReason(attempt.reason).label,
        }
    if attempt.outcome == FollowupOutcome.CALL_BACK:
        return _("%(name)s: call back at %(time)s.") % {"name": name, "time": _local(attempt.call_back_at, dealership)}
    if attempt.outcome == FollowupOutcome.COMPLAINT:
        return _("%(name)s: complaint raised. It is opened for the after-sales manager.") % {"name": name}
    if attempt.satisfaction:
        return _("%(name)s reached: satisfaction %(score)d of 5.") % {"name": name, "score": attempt.satisfaction}
    return _("%(name)s reached: the follow-up call is done.") % {"name": name}


def _followup_workable(touch: Touch, agent, now: datetime) -> bool:
    """Whether the follow-up call is one to make now: still planned, the agent's, due, not expired, and the
    customer may still be called for its class."""
    return (
        touch.status == Touch.Status.PLANNED
        and touch.assignee_id == agent.pk
        and touch.due_at <= now
        and (touch.expires_at is None or touch.expires_at > now)
        and contact.may_contact(touch.customer, touch.touch_class, "call")
    )


class FollowupOutcomeView(WorkbenchMixin, View):
    """Record one follow-up call (POST) and answer with the next customer, as ``OutcomeView`` does for an
    invitation: 200 recorded, 422 refused (the same card with the reason), 409 not due any more (recorded a
    moment ago in another tab, closed, or the customer may no longer be called: the next card with a
    warning), 404 not one of the agent's follow-up calls."""

    def post(self, request, pk):
        now = self.now()
        touch = followup_calls.touch_for_agent(agent=request.user, dealership=self.dealership, pk=pk)
        if touch is None or touch.assignee_id != request.user.pk:
            raise Http404
        arguments, problem = parse_followup_outcome(request.POST, self.dealership.zone)
        status = 422
        attempt = None
        if problem is None and _followup_workable(touch, request.user, now):
            try:
                attempt = followup_calls.followup_call_record(touch=touch, agent=request.user, now=now, **arguments)
            except StateConflict:
                touch.refresh_from_db()
            except ApplicationError as exc:
                problem = exc.message
        if problem is None and attempt is None:
            return self.stale(touch, now)
        if problem is not None:
            if not request.htmx:
                messages.error(request, problem)
                return redirect("calls:workbench")
            values = {"call_back_at": request.POST.get("call_back_at", ""), "note": request.POST.get("note", "")}
            context = self.current_context(now=now, touch=touch, error=problem, values=values)
            context["error_outcome"] = arguments.get("outcome")
            return self.render_current(context, status=status)
        text = followup_recorded_message(attempt, self.dealership)
        if not request.htmx:
            messages.success(request, text)
            return redirect("calls:workbench")
        context = self.current_context(now=now, feedback={"level": "success", "text": text})
        return self.render_current(context, calls_changed=True)

    def stale(self, touch: Touch, now):
        touch.refresh_from_db()
        name = touch.customer.name
        refusal = contact.refusal(touch.customer, touch.touch_class, "call")
        if refusal is not None:
            text = _("%(name)s may no longer be called: %(why)s Nothing was added.") % {
                "name": name,
                "why": refusal.message,
            }
        elif touch.status == Touch.Status.PLANNED and touch.due_at > now:
            text = _("%(name)s was already recorded; they are due again at %(time)s. Nothing was added.") % {
                "name": name,
                "time": _local(touch.due_at, self.dealership),
            }
        else:
            text = _("%(name)s is no longer on your list to call (%(status)s). Nothing was added.") % {
                "name": name,
                "status": touch.get_status_display().lower(),
            }
        if not self.request.htmx:
            messages.warning(self.request, text)
            return redirect("calls:workbench")
        context = self.current_context(now=now, feedback={"level": "warning", "text": text})
        return self.render_current(context, 409, calls_changed=True)


# --- The coupon desk -------------------------------------------------------------------------------------


def _back(request, fallback: str) -> str:
    """The ``next`` the form carried when it is a page of this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _lookup_url(code: str) -> str:
    return f"{reverse('calls:coupon-redeem')}?code={code}"


def recent_visits(dealership, customer):
    return list(
        customer_selectors.visit_list(dealership=dealership)
        .filter(customer=customer)
        .order_by("-opened_on", "-id")[:RECENT_VISITS]
    )


class CouponRedeemView(DealershipMixin, TemplateView):
    """The counter's coupon desk: type a code (GET) to see the coupon and its customer's recent visits, then
    redeem it on one of them (POST ``code`` and ``visit``; ``next`` to come back to another page)."""

    action = "coupon.redeem"
    template_name = "campaigns/counter/coupon_redeem.html"

    def get(self, request, *args, **kwargs):
        code = (request.GET.get("code") or "").strip().upper()
        context = self.get_context_data(code=code)
        status = 200
        if code:
            coupon = selectors.coupons(dealership=self.dealership).filter(code=code).first()
            if coupon is None:
                context["not_found"] = True
                status = 404
            else:
                context.update(self.coupon_context(coupon))
        return self.render_to_response(context, status=status)

    def coupon_context(self, coupon: Coupon) -> dict:
        today = self.dealership.local_date()
        visits = recent_visits(self.dealership, coupon.customer)
        return {
            "coupon": coupon,
            # the visits it may be redeemed on (the redemption rule itself); any_visits: whether there are others
            "visits": services.coupon_visit_choices(
                coupon=coupon, visits=visits, today=today, dealership=self.dealership
            ),
            "any_visits": visits,
            "closed": not (coupon.status == Coupon.Status.ISSUED and coupon.expires_on >= today),
            "today": today,
        }

    def post(self, request, *args, **kwargs):
        coupon = selectors.coupon_by_code(dealership=self.dealership, code=request.POST.get("code", ""))
        back = _back(request, _lookup_url(coupon.code))
        visit_id = request.POST.get("visit", "")
        if not visit_id.isdigit():
            messages.error(request, _("Choose the visit the coupon is used on."))
            return HttpResponseRedirect(back)
        visit = customer_selectors.visit_list(dealership=self.dealership).filter(pk=int(visit_id)).first()
        if visit is None:
            messages.error(request, _("That visit is not one of this dealership's."))
            return HttpResponseRedirect(back)
        try:
            services.coupon_redeem(coupon=coupon, visit=visit, acting_user=request.user)
        except ApplicationError as exc:
            return refused(request, exc, back=back)
        else:
            messages.success(
                request,
                _("Coupon %(code)s (%(template)s) redeemed on visit %(ro)s.")
                % {"code": coupon.code, "template": coupon.template.name, "ro": visit.ro_number},
            )
        return HttpResponseRedirect(back)


class CouponVoidView(DealershipMixin, View):
    """Void an open coupon with a reason (POST ``reason``; ``next`` to come back)."""

    action = "campaign.manage"

    def post(self, request, pk):
        coupon = get_object_or_404(selectors.coupons(dealership=self.dealership), pk=pk)
        back = _back(request, reverse("customers:detail", args=[coupon.customer_id]))
        try:
            services.coupon_void(coupon=coupon, reason=request.POST.get("reason", ""), acting_user=request.user)
        except ApplicationError as exc:
            return refused(request, exc, back=back)
        else:
            messages.success(request, _("Coupon %(code)s voided.") % {"code": coupon.code})
        return HttpResponseRedirect(back)
