"""The personal-data API, under /api/v1/privacy/."""

from django.urls import include, path

urlpatterns = [
    path("", include("privacy.api.urls_subject")),
    path("duplicates/", include("privacy.api.urls_merge")),
]
