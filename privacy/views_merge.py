"""The pages of possible duplicates and their merge (``privacy.merge``, ``privacy.duplicates``)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from customers.models import Customer
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.views import DealershipMixin, confirm_step, confirmed, refusal_status

from . import merge as merging
from .duplicates import customers_for_display, duplicate_groups, groups_load

PAGE_SIZE = 20


class DuplicateListView(DealershipMixin, TemplateView):
    """The possible duplicates of the current dealership, one group a card, each customer side by side."""

    action = "privacy.manage"
    template_name = "privacy/merge/duplicates.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        groups = duplicate_groups(dealership=self.dealership)
        customer = self.request.GET.get("customer", "")
        if customer.isdigit():  # from a customer's 360 page: their groups only
            context["customer"] = get_object_or_404(Customer.objects.filter(dealership=self.dealership), pk=customer)
            groups = [group for group in groups if int(customer) in group.ids]
        page = Paginator(groups, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context["page_obj"] = page
        context["groups"] = groups_load(dealership=self.dealership, groups=list(page.object_list))
        return context


class _NoChoice(Exception):
    pass


class MergeView(DealershipMixin, View):
    """?survivor=<id>&merged=<id>: both customers and what will move; the merge is posted twice (confirmed)."""

    action = "privacy.manage"
    template_name = "privacy/merge/merge.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except _NoChoice:  # no ids (or not numbers): a request to be made again, not a missing record
            message = _("Choose the customer to keep and the one to merge into them.")
            back = reverse("privacy:duplicates")
            return TemplateResponse(request, "refused.html", {"message": message, "back": back}, status=400)

    def _customers(self, data):
        try:
            survivor_id, merged_id = int(data.get("survivor", "")), int(data.get("merged", ""))
        except ValueError:
            raise _NoChoice from None
        customers = customers_for_display(dealership=self.dealership)
        return get_object_or_404(customers, pk=survivor_id), get_object_or_404(customers, pk=merged_id)

    def _page(self, survivor, merged, *, error=None, status=200):
        url = reverse("privacy:merge")
        context = {
            "dealership": self.dealership,
            "survivor": survivor,
            "merged": merged,
            "error": error,
            "moves": [(what, n) for _label, what, n in merging.merge_preview(merged=merged) if n],
            "filled": [
                (Customer._meta.get_field(name).verbose_name, getattr(merged, name))
                for name in merging.FILLED_FIELDS
                if getattr(survivor, name) in ("", None) and getattr(merged, name) not in ("", None)
            ],
            "swap_url": f"{url}?survivor={merged.pk}&merged={survivor.pk}",
        }
        if error is None:
            context["confirm"] = confirm_step(
                name="merge",
                title=_("Merge %(merged)s into %(survivor)s?")
                % {"merged": merged.customer_no, "survivor": survivor.customer_no},
                lines=[
                    _(
                        "Everything of customer %(merged)s moves to customer %(survivor)s, and customer %(merged)s "
                        "is deleted. This cannot be undone."
                    )
                    % {"merged": merged.customer_no, "survivor": survivor.customer_no}
                ],
                button=_("Merge"),
                action=url,
                cancel=reverse("privacy:duplicates"),
                fields=[("survivor", survivor.pk), ("merged", merged.pk)],
                danger=True,
            )
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def get(self, request):
        survivor, merged = self._customers(request.GET)
        try:
            merging.merge_check(survivor=survivor, merged=merged)
        except ApplicationError as exc:
            return self._page(survivor, merged, error=exc.message, status=refusal_status(exc))
        return self._page(survivor, merged)

    def post(self, request):
        survivor, merged = self._customers(request.POST)
        if not confirmed(request):
            return self.get_confirmation(survivor, merged)
        merged_no = merged.customer_no
        try:
            survivor = merging.customers_merge(
                survivor=survivor, merged=merged, acting_user=request.user, request=request
            )
        except ApplicationError as exc:
            return self._page(survivor, merged, error=exc.message, status=refusal_status(exc))
        messages.success(
            request,
            _("Customer %(merged)s was merged into %(survivor)s.")
            % {"merged": merged_no, "survivor": survivor.customer_no},
        )
        return redirect("customers:detail", pk=survivor.pk)

    def get_confirmation(self, survivor, merged):
        try:
            merging.merge_check(survivor=survivor, merged=merged)
        except ApplicationError as exc:
            return self._page(survivor, merged, error=exc.message, status=refusal_status(exc))
        return self._page(survivor, merged)
