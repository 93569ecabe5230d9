"""OpenAPI schema: every dealership-scoped endpoint documents how to name the dealership."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter

from .api import DealershipScopedMixin

DEALERSHIP_PARAMETERS = [
    OpenApiParameter(
        name="X-Dealership",
        type=str,
        location=OpenApiParameter.HEADER,
        required=False,
        description=_(
            "Code of the dealership to work in (e.g. SZ01). Required when the token's user belongs to "
            "several dealerships; a code that is not one of theirs answers 404."
        ),
    ),
    OpenApiParameter(
        name="dealership",
        type=str,
        location=OpenApiParameter.QUERY,
        required=False,
        description=_("The same as the X-Dealership header, as a query parameter; it wins over the header."),
    ),
]


class AutoSchema(SpectacularAutoSchema):
    """Adds the X-Dealership header (and ``?dealership=``) to the operations of dealership-scoped views."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if isinstance(self.view, DealershipScopedMixin):
            parameters = [*DEALERSHIP_PARAMETERS, *parameters]
        return parameters
