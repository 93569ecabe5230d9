"""Routes of the incentive tier tables API, under /api/v1/reports/incentive-tiers/."""

from django.urls import path

from . import incentives

urlpatterns = [
    path("", incentives.IncentiveTablesView.as_view(), name="api-reports-incentive-tiers"),
    path("<str:group>/", incentives.IncentiveTableView.as_view(), name="api-reports-incentive-tier"),
]
