"""REST API v1: every app registers its routes on this one router."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include("customers.api_urls")),
    path("segmentation/", include("segmentation.api_urls")),
    path("campaigns/", include("campaigns.api_urls")),
]
