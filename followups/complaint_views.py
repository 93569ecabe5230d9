"""Complaint pages: the list (open ones first, with their deadlines), one complaint with its timeline and
actions, and opening one from the customer 360 page.

Everyone reads complaints (``complaint.view``) but a service advisor sees only those on their own visits
(``complaints_visible``); after-sales managers and administrators act on them (``complaint.manage``); whoever
hears a complaint opens it (``complaint.open``). Closing and resolving cannot be undone: they ask first."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from customers import selectors as customer_selectors
from dealercrm.core.audit import history_entries
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.views import DealershipMixin, ServiceFormView, confirm_step, confirmed, refused

from . import complaints as services
from .complaint_forms import ComplaintOpenForm, ComplaintResolveForm
from .models import Complaint, Touch

PAGE_SIZE = 50


def _mark_deadlines(rows, now):
    for complaint in rows:
        complaint.overdue = services.is_overdue(complaint, now)
        complaint.resolution_late = services.resolution_overdue(complaint, now)
    return rows


class ComplaintListView(DealershipMixin, TemplateView):
    action = "complaint.view"
    template_name = "followups/complaints/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        if status not in Complaint.Status.values:
            status = ""
        qs = services.complaint_list(dealership=self.dealership, user=self.request.user, status=status)
        page = Paginator(qs, PAGE_SIZE).get_page(self.request.GET.get("page"))
        now = timezone.now()
        _mark_deadlines(page.object_list, now)
        context.update(
            page=page,
            status=status,
            statuses=Complaint.Status.choices,
            zone=self.dealership.zone,
            own_visits_only=self.request.user.role == "advisor",
        )
        return context


class ComplaintMixin(DealershipMixin):
    def get_complaint(self) -> Complaint:
        if not hasattr(self, "_complaint"):
            self._complaint = services.complaint_get(
                dealership=self.dealership, pk=self.kwargs["pk"], user=self.request.user
            )
        return self._complaint

    def detail_url(self):
        return reverse("followups:complaint", args=[self.kwargs["pk"]])


def detail_context(request, complaint, *, resolve_form=None) -> dict:
    now = timezone.now()
    _mark_deadlines([complaint], now)
    history = Complaint.history.filter(id=complaint.pk)
    return {
        "complaint": complaint,
        "survey": complaint.survey,
        "timeline": list(reversed(history_entries(history, limit=100))),
        "calls": list(Touch.objects.filter(complaint=complaint, kind=Touch.Kind.COMPLAINT).select_related("assignee")),
        "resolve_form": resolve_form or ComplaintResolveForm(),
        "moves": {move: services.move_refusal(complaint, move) is None for move in services.MOVES},
    }


class ComplaintDetailView(ComplaintMixin, TemplateView):
    action = "complaint.view"
    template_name = "followups/complaints/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(detail_context(self.request, self.get_complaint()))
        return context


class ComplaintMoveView(ComplaintMixin, View):
    """One step of a complaint (POST); the irreversible ones are confirmed first; a step the complaint's state
    no longer allows answers 409 with what changed."""

    action = "complaint.manage"
    move = ""
    done = ""
    CONFIRM = {
        "resolve": (
            gettext_lazy("Resolve this complaint?"),
            gettext_lazy("The customer is told this is how it was handled; it cannot be changed afterwards."),
            gettext_lazy("Resolve"),
        ),
        "close": (
            gettext_lazy("Close this complaint?"),
            gettext_lazy("A closed complaint stays closed: the customer accepted how it was handled."),
            gettext_lazy("Close the complaint"),
        ),
    }

    def post(self, request, pk):
        complaint = self.get_complaint()
        refusal = services.move_refusal(complaint, self.move)
        if refusal is not None:
            return refused(request, refusal, back=self.detail_url())
        fields = {}
        if self.move == "resolve":
            form = ComplaintResolveForm(request.POST)
            if not form.is_valid():
                context = {"dealership": self.dealership, **detail_context(request, complaint, resolve_form=form)}
                return render(request, "followups/complaints/detail.html", context)
            fields = {"resolution": form.cleaned_data["resolution"]}
        if self.move in self.CONFIRM and not confirmed(request):
            title, line, button = self.CONFIRM[self.move]
            lines = [line] + ([fields["resolution"]] if fields else [])
            step = confirm_step(
                name=self.move,
                title=title,
                lines=lines,
                button=button,
                action=request.path,
                cancel=self.detail_url(),
                fields=list(fields.items()),
                danger=self.move == "close",
            )
            return render(request, "followups/complaints/confirm.html", {"complaint": complaint, "confirm": step})
        service = getattr(services, f"complaint_{self.move}")
        try:
            service(complaint=complaint, acting_user=request.user, **fields)
        except ApplicationError as exc:
            return refused(request, exc, back=self.detail_url())
        messages.success(request, str(self.done))
        return redirect(self.detail_url())


class ComplaintAcknowledgeView(ComplaintMoveView):
    move = "acknowledge"
    done = gettext_lazy("Complaint acknowledged: the first response is on record.")


class ComplaintResolveView(ComplaintMoveView):
    move = "resolve"
    done = gettext_lazy("Complaint resolved.")


class ComplaintCloseView(ComplaintMoveView):
    move = "close"
    done = gettext_lazy("Complaint closed.")


class ComplaintOpenView(ServiceFormView):
    """Open a complaint for a customer (from the customer 360 page), about one of their visits or none."""

    action = "complaint.open"
    template_name = "followups/complaints/form_page.html"
    form_class = ComplaintOpenForm
    form_id = "complaint-form"
    title = gettext_lazy("Open a complaint")
    submit_label = gettext_lazy("Open the complaint")

    def get_customer(self):
        if not hasattr(self, "_customer"):
            self._customer = customer_selectors.customer_get(dealership=self.dealership, pk=self.kwargs["pk"])
        return self._customer

    def visits(self):
        return customer_selectors.visit_list(dealership=self.dealership).filter(customer=self.get_customer())

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "visits": self.visits()}

    def get_initial(self):
        visit = self.request.GET.get("visit", "")
        return {"visit": visit} if visit.isdigit() else {}

    def page_context(self):
        return {"customer": self.get_customer()}

    def get_cancel_url(self):
        return reverse("customers:detail", args=[self.get_customer().pk])

    def perform(self, form):
        return services.complaint_open(
            dealership=self.dealership,
            customer=self.get_customer(),
            source=form.cleaned_data["source"],
            summary=form.cleaned_data["summary"],
            visit=form.cleaned_data["visit"],
            acting_user=self.request.user,
        )

    def get_success_url(self):
        complaint = self.result
        messages.success(
            self.request,
            _("Complaint opened: the first response is due by %(due)s.")
            % {"due": timezone.localtime(complaint.response_due_at, self.dealership.zone).strftime("%Y-%m-%d %H:%M")},
        )
        visible = services.complaints_visible(dealership=self.dealership, user=self.request.user)
        if visible.filter(pk=complaint.pk).exists():
            return reverse("followups:complaint", args=[complaint.pk])
        return self.get_cancel_url()
