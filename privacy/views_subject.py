"""Pages of the data-subject requests (a customer's data exported or erased) and of the retention review."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from customers.selectors import customer_get
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.views import DealershipMixin, confirm_step, confirmed, refused

from . import retention, subject
from .forms import RetentionSelectionForm

RETENTION_PAGE_SIZE = 50


class CustomerExportView(DealershipMixin, View):
    """``?format=json|xlsx``: the customer's data as a file (logged: one ``subject_export`` event)."""

    action = "privacy.manage"

    def get(self, request, pk):
        customer = customer_get(dealership=self.dealership, pk=pk)
        fmt = request.GET.get("format") or "json"
        try:
            export = subject.customer_export(customer=customer, fmt=fmt, user=request.user, request=request)
        except ApplicationError as exc:
            return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class CustomerEraseView(DealershipMixin, View):
    """GET: what is open and what erasing will do; POST with ``confirmed=yes``: the erasure."""

    action = "privacy.manage"
    template_name = "privacy/subject/erase.html"

    def page(self, request, customer, status=200):
        back = reverse("customers:detail", args=[customer.pk])
        preview = subject.erasure_preview(customer)
        step = None
        if customer.erased_at is None:
            step = confirm_step(
                name="erase",
                title=_("Erase this customer's personal data?"),
                lines=[
                    _(
                        "Their name, phone number, e-mail, WeChat, birthday, city and notes are removed for good, "
                        "also from the record's history, and the texts tied to them (messages, call notes, survey "
                        "comments, complaints) are blanked. Visits, vehicles and every figure stay, without a name."
                    ),
                    _("This cannot be undone."),
                ],
                button=_("Erase personal data"),
                action=request.path,
                cancel=back,
                danger=True,
            )
        context = {"dealership": self.dealership, "customer": customer, "preview": preview, "confirm": step}
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        return self.page(request, customer_get(dealership=self.dealership, pk=pk))

    def post(self, request, pk):
        customer = customer_get(dealership=self.dealership, pk=pk)
        back = reverse("customers:detail", args=[customer.pk])
        if customer.erased_at is not None:
            return refused(request, subject.already_erased(customer), back=back)
        if not confirmed(request):
            return self.page(request, customer)
        try:
            closed = subject.customer_erase(customer=customer, acting_user=request.user, request=request)
        except ApplicationError as exc:
            return refused(request, exc, back=back)
        count = sum(len(ids) for ids in closed.values())
        messages.success(
            request,
            ngettext(
                "The customer's personal data was erased; %(count)d open item was closed.",
                "The customer's personal data was erased; %(count)d open items were closed.",
                count,
            )
            % {"count": count},
        )
        return redirect(back)


class RetentionView(DealershipMixin, View):
    """The customers due for review (paginated, with their number), and their anonymisation in bulk: a POST
    (all, or the ticked ones) answers a confirmation step saying how many; the same POST with
    ``confirmed=yes`` anonymises them."""

    action = "privacy.manage"
    template_name = "privacy/retention/list.html"

    def get(self, request):
        candidates = retention.retention_candidates(dealership=self.dealership)
        page = Paginator(candidates, RETENTION_PAGE_SIZE).get_page(request.GET.get("page"))
        day, _moment = retention.cutoff(self.dealership)
        context = {
            "dealership": self.dealership,
            "page_obj": page,
            "customers": page.object_list,
            "count": page.paginator.count,
            "years": retention.retention_years(),
            "cutoff": day,
        }
        return render(request, self.template_name, context)

    def post(self, request):
        form = RetentionSelectionForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.non_field_errors()) or _("Nothing was chosen."))
            return redirect(request.path)
        ids = form.selection()
        due = retention.due_for_review(dealership=self.dealership)
        if ids is not None:
            due = due.filter(pk__in=ids)
        if not confirmed(request):
            count = due.count()
            if not count:
                messages.info(request, _("None of the customers chosen is due for review any more."))
                return redirect(request.path)
            fields = [("all", "1")] if ids is None else [("ids", pk) for pk in ids]
            step = confirm_step(
                name="anonymise",
                title=ngettext("Anonymise %(count)d customer?", "Anonymise %(count)d customers?", count)
                % {"count": count},
                lines=[
                    _(
                        "Each one is anonymised as an erasure does: name, phone number and the other personal "
                        "fields removed for good, open coupons voided, bookings cancelled, open complaints "
                        "closed, pending follow-ups cancelled. Visits and figures stay."
                    ),
                    _("This cannot be undone."),
                ],
                button=_("Anonymise"),
                action=request.path,
                cancel=request.path,
                fields=fields,
                danger=True,
            )
            return render(request, "privacy/retention/confirm.html", {"dealership": self.dealership, "confirm": step})
        done = retention.retention_anonymise(
            dealership=self.dealership, ids=ids, acting_user=request.user, request=request
        )
        messages.success(
            request,
            ngettext("%(count)d customer anonymised.", "%(count)d customers anonymised.", len(done))
            % {"count": len(done)},
        )
        return redirect(request.path)
