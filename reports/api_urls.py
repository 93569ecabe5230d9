"""The reports' REST API: every report as JSON, the KPIs, the incentive tables."""

from django.urls import include, path

urlpatterns = [
    path("incentive-tiers/", include("reports.api.urls_incentives")),
    path("", include("reports.api.urls_reports")),
]
