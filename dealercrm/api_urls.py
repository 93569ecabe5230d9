"""REST API v1: every app registers its routes on this one router."""

from django.urls import include, path

from dealercrm.core.staff.api import ObtainTokenView

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("staff/", include("dealercrm.core.staff.api_urls")),
    path("", include("customers.api_urls")),
    path("segmentation/", include("segmentation.api_urls")),
    path("campaigns/", include("campaigns.api_urls")),
    path("followups/", include("followups.api_urls")),
    path("reports/", include("reports.api_urls")),
    path("privacy/", include("privacy.api_urls")),
]
