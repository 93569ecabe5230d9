"""The reports' pages: the dashboard, each report, drill-downs, exports, the weekly packs and the incentive
tables."""

from django.urls import include, path

app_name = "reports"

urlpatterns = [
    path("exports/", include("reports.urls_exports")),
    path("incentives/", include("reports.urls_incentives")),
    path("", include("reports.urls_pages")),
]
