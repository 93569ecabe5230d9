"""The viewset every app's API builds on, and the responses its schema documents.

Apart from ``api.py`` because DRF loads that module for its settings (the pagination class): importing
viewsets there would import DRF's generic views before the module is complete.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, viewsets

from .api import DealershipScopedMixin

NOT_FOUND = OpenApiResponse(description=_("Not a record of this dealership (or no such dealership among yours)."))
FORBIDDEN = OpenApiResponse(description=_("Your role may not do this."))


class ScopedViewSet(DealershipScopedMixin, viewsets.GenericViewSet):
    """List, retrieve, create and update one kind of record of the current dealership."""

    ordering = ["-id"]
    ordering_fields = ["id"]
    #: selector returning this dealership's records
    selector = None
    model = None

    def initial(self, request, *args, **kwargs):
        # A method this route does not have (DELETE) is 405 for everyone, before roles are checked.
        if self.action is None and request.method.lower() != "options":
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
        # A record's id is a number: anything else (/users/abc/) names no record, whatever get_object does.
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        if self.lookup_field == "pk" and lookup is not None and not str(lookup).isdigit():
            raise exceptions.NotFound()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no dealership
            return self.model.objects.none()
        return self.selector(dealership=self.dealership)

    def get_serializer_context(self):
        if getattr(self, "swagger_fake_view", False):
            return {"request": self.request, "format_kwarg": None, "view": self, "dealership": None}
        return super().get_serializer_context()
