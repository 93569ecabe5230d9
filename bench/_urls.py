"""URLconf of the gunicorn that ``bench/bench_api_list.py`` starts: the project's own URLs, plus a plain DRF view
that only the benchmark mounts (``/bench/plain-customers/``), the yardstick the customer list is measured against.

The plain view has the customer list's authentication, permissions, throttling and dealership resolution (the
same mixin and role-table action), and answers the 50 newest customers of the dealership as ``values()``
dictionaries of the same columns, written by DRF's JSON renderer: no serializer, no pagination, no filters.
The phone is read as the stored text (``values()`` would otherwise hand over PhoneNumber objects, which the
JSON encoder cannot write).
"""

from django.db.models import CharField, F
from django.db.models.functions import Cast
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Customer
from dealercrm.core.api import DealershipScopedMixin

COLUMNS = [
    "id",
    "customer_no",
    "name",
    "gender",
    "birthday",
    "city",
    "preferred_channel",
    "member_tier",
    "points",
    "marketing_consent",
    "consent_changed_at",
    "consent_channel",
    "do_not_contact",
    "flag_wrong_number",
    "flag_bounced",
    "flag_possible_duplicate",
    "notes",
    "created_at",
    "updated_at",
]


class PlainCustomerList(DealershipScopedMixin, APIView):
    required_action = "customer.view"

    def get(self, request):
        rows = Customer.objects.filter(dealership=self.dealership).order_by("-id")
        rows = rows.values(*COLUMNS, phone_text=Cast(F("phone"), CharField()))[:50]
        return Response(list(rows))


class Floor(DealershipScopedMixin, APIView):
    """The same authentication, permission, throttling and dealership, and no query of its own: what any
    request costs before it reads anything (``bench_api_list.py --floor``)."""

    required_action = "customer.view"

    def get(self, request):
        return Response([])


class BarePlainCustomerList(APIView):
    """The barest reading of "a plain DRF view": no authentication, permission or throttling, the store by its
    code; still DRF's request, negotiation and JSON renderer (``bench_api_list.py --bare``). What the
    middleware and a token cost every API request shows as the gap between this and ``PlainCustomerList``."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []

    def get(self, request):
        rows = Customer.objects.filter(dealership__code="DEMO").order_by("-id")
        rows = rows.values(*COLUMNS, phone_text=Cast(F("phone"), CharField()))[:50]
        return Response(list(rows))


urlpatterns = [
    path("bench/bare-customers/", BarePlainCustomerList.as_view(), name="bench-bare-customers"),
    path("bench/plain-customers/", PlainCustomerList.as_view(), name="bench-plain-customers"),
    path("bench/floor/", Floor.as_view(), name="bench-floor"),
    path("", include("dealercrm.urls")),
]
