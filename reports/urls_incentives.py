"""The incentive tier tables' pages, under /reports/incentives/tiers/ (namespace ``reports``): the report of the
same name keeps /reports/incentives/ (``reports.urls_pages``' ``<slug>/``), so nothing here answers at the
mount point itself."""

from django.urls import path

from . import incentive_views

urlpatterns = [
    path("tiers/", incentive_views.IncentiveTablesView.as_view(), name="incentive-tiers"),
    path("tiers/<str:group>/", incentive_views.IncentiveTableEditView.as_view(), name="incentive-tier-edit"),
    path("tiers/<str:group>/reset/", incentive_views.IncentiveTableResetView.as_view(), name="incentive-tier-reset"),
]
