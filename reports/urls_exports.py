"""Exports (mounted at /reports/exports/ in the ``reports`` namespace): a report as a file, long exports' jobs,
the weekly packs."""

from django.urls import path, re_path

from . import export_views

urlpatterns = [
    path("jobs/<int:pk>/", export_views.ExportJobView.as_view(), name="export-job"),
    path("jobs/<int:pk>/file/", export_views.ExportJobFileView.as_view(), name="export-job-file"),
    path("packs/", export_views.PackListView.as_view(), name="packs"),
    path("packs/<int:pk>/file/", export_views.PackFileView.as_view(), name="pack-file"),
    re_path(r"^(?P<slug>[-\w]+)\.(?P<fmt>csv|xlsx)$", export_views.ExportView.as_view(), name="export"),
]
