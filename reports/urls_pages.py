"""The reports' pages: the list of reports, the dashboard, each report and the drill-down behind a figure."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("drill/<str:code>/", views.DrillView.as_view(), name="drill"),
    path("<slug:slug>/", views.ReportView.as_view(), name="report"),
]
