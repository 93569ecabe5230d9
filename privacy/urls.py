"""The personal-data pages, under /privacy/."""

from django.urls import include, path

app_name = "privacy"

urlpatterns = [
    path("", include("privacy.urls_subject")),  # a customer's data exported or erased; the retention review
    path("duplicates/", include("privacy.urls_merge")),  # possible duplicates and their merge
]
