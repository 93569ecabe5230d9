"""The 360 page's "Show number": the customer's full phone number, on purpose and logged (``customers.reveal``).

``customers:phone-reveal`` (POST, htmx): for the roles with ``phone.reveal`` (the advisor at the counter, the
managers) the full number as a ``tel:`` link in place of the masked one, and exactly one access event per click
(``via`` "360 page"). Other roles see no button and get 403 here; another dealership's customer is not found.
"""

from django.template.response import TemplateResponse
from django.views import View

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.views import DealershipMixin

from . import selectors
from .reveal import phone_reveal


class PhoneRevealView(DealershipMixin, View):
    action = "phone.reveal"

    def post(self, request, pk):
        customer = selectors.customer_get(dealership=self.dealership, pk=pk)
        context = {"customer": customer}
        try:
            context["phone"] = phone_reveal(customer=customer, user=request.user, via="360 page", request=request)
        except ApplicationError as exc:  # no number on file (an erased customer)
            context["problem"] = exc.message
            return TemplateResponse(request, "customers/360/_phone_revealed.html", context, status=exc.status)
        return TemplateResponse(request, "customers/360/_phone_revealed.html", context)
