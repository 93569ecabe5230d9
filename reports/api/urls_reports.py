"""The reports' API (mounted at /api/v1/reports/): the list, the KPIs, each report's tables."""

from django.urls import path

from . import reports

urlpatterns = [
    path("", reports.ReportListView.as_view(), name="api-reports-list"),
    path("kpis/", reports.KPIsView.as_view(), name="api-reports-kpis"),
    path("<slug:slug>/", reports.ReportDetailView.as_view(), name="api-reports-detail"),
]
