"""Server-rendered pages of the service counter: search, today's arrivals, the customer 360 page and its forms.

Thin views: they check the role (``action``) and the dealership (``DealershipMixin``),
read through selectors and write through services.
"""

from copy import copy

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from dealercrm.core import access_log
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.models import AccessEvent
from dealercrm.core.roles import can
from dealercrm.core.views import DealershipMixin, refusal_status
from dealercrm.core.views import ServiceFormView as BaseServiceFormView

from . import cards, consent, page360, selectors, services
from .forms import ConsentForm, CustomerForm, VehicleForm, VisitForm
from .models import Appointment, ConsentChannel, VisitType

SEARCH_LIMIT = 20


def arrivals_context(dealership) -> dict:
    """Today's expected arrivals, with the marks the apps above customers put on them
    (``customers.cards.register_arrival_marks``: the campaign invitation behind an appointment, the VIP "green
    channel" mark, as ``invitation``; the customer's ``open_coupons``). A fixed number of queries however long
    the list."""
    today = dealership.local_date()
    arrivals = list(selectors.appointments_expected(dealership=dealership, day=today))
    for appointment in arrivals:
        appointment.invitation, appointment.open_coupons = None, []
    if arrivals:
        cards.mark_arrivals(dealership=dealership, appointments=arrivals, today=today)
        arrival_form_context(dealership, arrivals, today)
    return {"today": today, "arrivals": arrivals, "visit_types": VisitType.choices}


def arrival_form_context(dealership, arrivals: list, today) -> None:
    """What the "arrived" form of each expected arrival offers: the customer's current vehicles (the
    appointment's first, else the campaign invitation's) and the suggested RO number of the day. Two queries
    however long the list."""
    vehicles: dict[int, list] = {}
    for vehicle in (
        selectors.vehicle_list(dealership=dealership)
        .filter(owner_id__in={a.customer_id for a in arrivals})
        .order_by("pk")
    ):
        vehicles.setdefault(vehicle.owner_id, []).append(vehicle)
    suggestion = selectors.ro_number_suggest(dealership=dealership, day=today)
    for appointment in arrivals:
        own = vehicles.get(appointment.customer_id, [])
        invitation = getattr(appointment, "invitation", None)  # a campaign's mark: the vehicle it invited
        first = appointment.vehicle_id or getattr(invitation, "vehicle_id", None)
        appointment.vehicle_choices = sorted(own, key=lambda v, first=first: v.pk != first)
        appointment.ro_suggestion = suggestion


# --- The counter -------------------------------------------------------------------------------------------


class CounterView(DealershipMixin, TemplateView):
    """The service advisor's counter: one search box and today's expected arrivals.

    ``?q=`` without JavaScript (or Enter in the box) searches; exactly one result opens the 360 page.
    """

    action = "customer.view"
    template_name = "customers/counter.html"

    def get(self, request, *args, **kwargs):
        q = request.GET.get("q", "").strip()
        query, results = selectors.counter_search(dealership=self.dealership, q=q, limit=SEARCH_LIMIT + 1)
        if len(results) == 1 and not request.htmx:
            return redirect("customers:detail", pk=results[0].pk)
        context = self.get_context_data(q=q, query=query, results=results[:SEARCH_LIMIT])
        context["more"] = len(results) > SEARCH_LIMIT
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(arrivals_context(self.dealership))
        return context


class CounterSearchView(DealershipMixin, View):
    """The results list alone, for htmx as the advisor types (``hx-get`` from the search box)."""

    action = "customer.view"

    def get(self, request):
        q = request.GET.get("q", "").strip()
        query, results = selectors.counter_search(dealership=self.dealership, q=q, limit=SEARCH_LIMIT + 1)
        context = {"q": q, "query": query, "results": results[:SEARCH_LIMIT], "more": len(results) > SEARCH_LIMIT}
        return TemplateResponse(request, "customers/_search_results.html", context)


class AppointmentStatusView(DealershipMixin, View):
    """Mark an expected arrival as arrived or no-show (POST); htmx gets the refreshed list back."""

    action = "appointment.arrival"
    STATUSES = {
        Appointment.Status.ARRIVED: gettext_lazy("%(name)s has arrived."),
        Appointment.Status.NO_SHOW: gettext_lazy("%(name)s marked as no-show."),
    }

    def post(self, request, pk):
        appointment = selectors.appointment_get(dealership=self.dealership, pk=pk)
        status = request.POST.get("status", "")
        if status not in self.STATUSES:
            return HttpResponseBadRequest(_("Unknown status."))
        answer = 200
        try:
            if status == Appointment.Status.ARRIVED:
                feedback = self.arrive(appointment)
            else:
                services.appointment_set_status(appointment=appointment, status=status, acting_user=request.user)
                feedback = {"level": "success", "text": self.STATUSES[status] % {"name": appointment.customer.name}}
        except ApplicationError as exc:
            feedback = {"level": "danger", "text": exc.message, "appointment_id": appointment.pk}
            answer = refusal_status(exc)  # 409 when the appointment has moved on meanwhile, as in the API
        if request.htmx:  # the list comes back in place, with the outcome on top (static/js/counter.js swaps a 409)
            context = {**arrivals_context(self.dealership), "feedback": feedback}
            return TemplateResponse(request, "customers/_arrivals.html", context, status=answer)
        messages.add_message(
            request, messages.SUCCESS if feedback["level"] == "success" else messages.ERROR, feedback["text"]
        )
        return redirect("customers:counter")

    def arrive(self, appointment) -> dict:
        """Arrived: the visit opens in the same step (``services.appointment_arrive``), from the list's form (RO
        number, vehicle, visit type, the campaign's code) or its defaults; the outcome names the visit and leads
        to the customer's page, where their open coupons are offered for it."""
        data = self.request.POST
        vehicle = None
        if data.get("vehicle", "").isdigit():
            vehicle = selectors.vehicle_list(dealership=self.dealership).filter(pk=int(data["vehicle"])).first()
            if vehicle is None:
                raise ApplicationError(_("That vehicle is not one of this dealership's."), code="vehicle_not_found")
        coupons = next(
            (a.open_coupons for a in arrivals_context(self.dealership)["arrivals"] if a.pk == appointment.pk), []
        )
        appointment, visit = services.appointment_arrive(
            appointment=appointment,
            acting_user=self.request.user,
            ro_number=data.get("ro_number", ""),
            vehicle=vehicle,
            visit_type=data.get("visit_type") or VisitType.MAINTENANCE,
            campaign_code=data.get("campaign_code", ""),
        )
        text = _("%(name)s has arrived. Visit %(ro)s is open.") % {
            "name": appointment.customer.name,
            "ro": visit.ro_number,
        }
        url = reverse("customers:detail", args=[appointment.customer_id])
        return {
            "level": "success",
            "text": text,
            "visit": visit,
            "coupons": len(coupons),
            "visit_url": f"{url}?visit={visit.pk}#card-coupons",
        }


# --- The customer 360 page ---------------------------------------------------------------------------------


#: visits shown on the 360 page before "show all"
VISITS_SHOWN = 10


class Customer360View(DealershipMixin, TemplateView):
    """The customer 360 page: who the customer is, consent, vehicles, the latest visits (``?visits=all``: every
    one), appointments, and the cards the apps above customers register (``customers.cards``: coupons,
    follow-ups, surveys, complaints…), each read in a fixed number of queries."""

    action = "customer.view"
    template_name = "customers/customer_360.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        all_visits = self.request.GET.get("visits") == "all"
        context.update(
            page360.read(
                dealership=self.dealership, pk=self.kwargs["pk"], visits_limit=None if all_visits else VISITS_SHOWN
            )
        )
        customer = context["customer"]
        context.update(consent_context(customer, context["consent_events"]))
        context["today"] = today = self.dealership.local_date()
        context["all_visits"] = all_visits
        page = cards.CardPage(
            dealership=self.dealership,
            customer=customer,
            user=self.request.user,
            today=today,
            visits=context["visits"],
            appointments=context["appointments"],
        )
        context["cards"] = cards.cards_for(page)
        if can(self.request.user, "audit.view"):
            context["change_history"] = selectors.customer_change_history(dealership=self.dealership, customer=customer)
        return context


CONSENT_STATES = consent.STATES


def consent_context(customer, events: list) -> dict:
    """The consent card from the customer's history (``events``, newest first): each event as a grant, a
    refusal of a customer who never consented ("not given": an import's 否, say) or the withdrawal of an
    earlier grant, with where it came from (``source``: the import's file and line, or a reference); and the
    customer's state read the same way."""
    events, granted_before = consent.annotate_states(events)
    for event in events:
        event.source = consent.source_detail(event)
    state = consent.current_state(customer, granted_before)
    return {"consent_events": events, "consent_state": state, "consent_state_label": CONSENT_STATES[state]}


class ConsentExportView(DealershipMixin, View):
    """The customer's consent history as evidence (``?format=json``, the default, or ``xlsx``): each event with
    its proof, the customer's number and current state. Written to the access log, once per export."""

    action = "privacy.manage"
    formats = ("json", "xlsx")

    def get(self, request, pk):
        fmt = request.GET.get("format", "json").lower()
        if fmt not in self.formats:
            return HttpResponseBadRequest(_("Choose the format json or xlsx."))
        customer = selectors.customer_get(dealership=self.dealership, pk=pk)
        customer.dealership = self.dealership  # the same store: not read again
        data = consent.evidence(customer)
        if fmt == "xlsx":
            response = HttpResponse(consent.evidence_xlsx(data), content_type=consent.XLSX_CONTENT_TYPE)
        else:
            response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{consent.evidence_filename(customer, fmt)}"'
        access_log.record(
            AccessEvent.Kind.CONSENT_EXPORT,
            request=request,
            dealership=self.dealership,
            customer=customer,
            what=f"consent history ({fmt.upper()}, {len(data['events'])} events)",
            details={"format": fmt, "events": len(data["events"]), "via": "page"},
        )
        return response


# --- Forms -------------------------------------------------------------------------------------------------


class ServiceFormView(BaseServiceFormView):
    """A counter form about a customer (or a new one)."""

    action = "customer.edit"
    template_name = "customers/form_page.html"

    def get_customer(self):
        return None

    def page_context(self) -> dict:
        return {"customer": self.get_customer()}

    def get_cancel_url(self):
        customer = self.get_customer()
        return reverse("customers:detail", args=[customer.pk]) if customer else reverse("customers:counter")

    def get_success_url(self):
        return reverse("customers:detail", args=[self.get_customer().pk])


class CustomerFormMixin:
    """For forms under /customers/<pk>/: the customer of this dealership, else 404."""

    def get_customer(self):
        if not hasattr(self, "_customer"):
            self._customer = selectors.customer_get(dealership=self.dealership, pk=self.kwargs["pk"])
        return self._customer


class CustomerCreateView(ServiceFormView):
    form_class = CustomerForm
    form_id = "customer-form"
    title = gettext_lazy("New customer")
    submit_label = gettext_lazy("Create customer")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "dealership": self.dealership}

    def get_initial(self):
        # From the counter: "no customer found for 13800138000 — create one" carries what was typed.
        initial = {}
        query = selectors.classify_search(self.request.GET.get("q", ""))
        if query.kind == "phone" and len(query.text) == 11:
            initial["phone"] = query.text
        elif query.kind == "name":
            initial["name"] = query.text
        return initial

    def perform(self, form):
        data = {k: v for k, v in form.cleaned_data.items() if k != "consent"}
        data["customer_no"] = data.get("customer_no") or selectors.customer_number_suggest(dealership=self.dealership)
        consent = form.cleaned_data.get("consent")
        customer = services.customer_create(
            dealership=self.dealership,
            acting_user=self.request.user,
            consent=consent,
            consent_channel=ConsentChannel.COUNTER,
            **data,
        )
        messages.success(self.request, _("Customer %(name)s created.") % {"name": customer.name})
        return customer

    def get_success_url(self):
        return reverse("customers:detail", args=[self.result.pk])


class CustomerUpdateView(CustomerFormMixin, ServiceFormView):
    form_class = CustomerForm
    form_id = "customer-form"
    title = gettext_lazy("Edit customer")
    submit_label = gettext_lazy("Save changes")
    success_message = gettext_lazy("Customer saved.")

    def get_form_kwargs(self):
        # A copy: the form writes its input on the instance, the page header keeps the stored name.
        return {**super().get_form_kwargs(), "dealership": self.dealership, "instance": copy(self.get_customer())}

    def perform(self, form):
        return services.customer_update(
            customer=self.get_customer(), acting_user=self.request.user, **form.cleaned_data
        )


class ConsentCreateView(CustomerFormMixin, ServiceFormView):
    """Record consent at the counter: the page shows the store's consent text for the advisor to read out or
    show, and keeps it with the event as its proof."""

    action = "customer.consent"
    form_class = ConsentForm
    form_id = "consent-form"
    title = gettext_lazy("Record marketing consent")
    submit_label = gettext_lazy("Record consent")
    success_message = gettext_lazy("Consent recorded.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "consent_text": consent.consent_text_for(self.dealership)}

    def get_initial(self):
        # Offer the opposite of the current state: that is what is being recorded, usually.
        return {"granted": "0" if self.get_customer().marketing_consent else "1"}

    def perform(self, form):
        return services.consent_record(
            customer=self.get_customer(),
            granted=form.cleaned_data["granted"],
            channel=form.cleaned_data["channel"],
            note=form.cleaned_data["note"],
            text_shown=form.cleaned_data["text_shown"],
            acting_user=self.request.user,
        )


class VehicleCreateView(CustomerFormMixin, ServiceFormView):
    form_class = VehicleForm
    form_id = "vehicle-form"
    title = gettext_lazy("Add a vehicle")
    submit_label = gettext_lazy("Add vehicle")
    success_message = gettext_lazy("Vehicle added.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "dealership": self.dealership}

    def perform(self, form):
        return services.vehicle_create(
            dealership=self.dealership, owner=self.get_customer(), acting_user=self.request.user, **form.cleaned_data
        )


class VehicleUpdateView(ServiceFormView):
    form_class = VehicleForm
    form_id = "vehicle-form"
    title = gettext_lazy("Edit vehicle")
    submit_label = gettext_lazy("Save changes")
    success_message = gettext_lazy("Vehicle saved.")

    def get_vehicle(self):
        if not hasattr(self, "_vehicle"):
            self._vehicle = selectors.vehicle_get(dealership=self.dealership, pk=self.kwargs["pk"])
        return self._vehicle

    def get_customer(self):
        return self.get_vehicle().owner

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "dealership": self.dealership, "instance": copy(self.get_vehicle())}

    def perform(self, form):
        return services.vehicle_update(vehicle=self.get_vehicle(), acting_user=self.request.user, **form.cleaned_data)


class VisitCreateView(CustomerFormMixin, ServiceFormView):
    form_class = VisitForm
    form_id = "visit-form"
    title = gettext_lazy("Record a visit")
    submit_label = gettext_lazy("Record visit")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.get_customer()}

    def get_initial(self):
        initial = {"opened_on": self.dealership.local_date(), "visit_type": VisitType.MAINTENANCE}
        vehicle = self.request.GET.get("vehicle")
        if vehicle and vehicle.isdigit():
            initial["vehicle"] = int(vehicle)
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["no_vehicle"] = not self.get_customer().vehicles.exists()
        return context

    def perform(self, form):
        visit = services.visit_create(
            dealership=self.dealership,
            vehicle=form.cleaned_data["vehicle"],
            customer=self.get_customer(),
            acting_user=self.request.user,
            **form.service_data(),
        )
        messages.success(self.request, _("Visit %(ro)s recorded.") % {"ro": visit.ro_number})
        return visit
