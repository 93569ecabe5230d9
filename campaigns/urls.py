"""Pages of campaigns for managers (under /campaigns/)."""

from django.urls import path  # noqa: F401 - routes are added as the pages are built

app_name = "campaigns"

urlpatterns = []
