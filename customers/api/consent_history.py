"""``GET /api/v1/customers/<id>/consent-history/``: a customer's consent history as evidence (PIPL).

JSON by default; ``?format=xlsx`` answers the same as a workbook with Chinese headings
(``customers.consent.evidence_xlsx``). For the roles that handle customers' rights (``privacy.manage``); a
customer of another dealership is 404. Each answer that hands the history out writes one access event of kind
``consent_export``.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.core import access_log
from dealercrm.core.api import DealershipScopedMixin
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND

from .. import consent, selectors


class XlsxRenderer(renderers.BaseRenderer):
    """The workbook the view made (bytes) as it is; anything else (an error) as JSON, saying so."""

    media_type = consent.XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return renderers.JSONRenderer().render(data)


class ConsentHistoryApiView(DealershipScopedMixin, APIView):
    required_action = "privacy.manage"
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, XlsxRenderer]

    @extend_schema(
        summary=_("A customer's consent history as evidence"),
        description=_(
            "Each consent event with its proof: when, granted or withdrawn, the channel and source (import file "
            "and line, or a reference), the text shown, who recorded it and when; with the customer's number and "
            "current state. `?format=xlsx` answers a workbook. Each answer is written to the access log."
        ),
        parameters=[
            OpenApiParameter("format", str, enum=["json", "xlsx"], description=_("json (the default) or xlsx"))
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request, id):
        customer = selectors.customer_get(dealership=self.dealership, pk=id)
        customer.dealership = self.dealership  # the same store: not read again
        data = consent.evidence(customer)
        fmt = getattr(request.accepted_renderer, "format", "json")
        fmt = "xlsx" if fmt == "xlsx" else "json"
        if fmt == "xlsx":
            response = Response(consent.evidence_xlsx(data))
            response["Content-Disposition"] = f'attachment; filename="{consent.evidence_filename(customer, fmt)}"'
        else:
            response = Response(data)
        access_log.record(
            access_log.Kind.CONSENT_EXPORT,
            request=request._request,
            user=request.user,
            dealership=self.dealership,
            customer=customer,
            what=f"consent history ({fmt.upper()}, {len(data['events'])} events, API)",
            details={"format": fmt, "events": len(data["events"]), "via": "api"},
        )
        return response
