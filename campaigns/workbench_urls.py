"""The call-centre agent's workbench and the counter's coupon desk (under /calls/)."""

from django.urls import path  # noqa: F401 - routes are added as the pages are built

app_name = "calls"

urlpatterns = []
