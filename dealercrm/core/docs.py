"""The API's OpenAPI schema and its Swagger UI, for the roles that set up REST clients (``api.docs``), and the
API's index.

A REST client asks for the schema with its token; a browser without a session is sent to log in.
"""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, permissions, routers

from .api import HasAction


class SchemaView(SpectacularAPIView):
    permission_classes = [permissions.IsAuthenticated, HasAction]
    required_action = "api.docs"


class DocsView(SpectacularSwaggerSplitView):
    # The split view serves Swagger UI's start-up script from this URL (?script), not inline: the CSP refuses
    # inline scripts.
    permission_classes = [permissions.IsAuthenticated, HasAction]
    required_action = "api.docs"

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


class ApiRootView(routers.APIRootView):
    """The API's index (links to its resources): for every member of a dealership."""

    permission_classes = [permissions.IsAuthenticated, HasAction]
    required_action = "customer.view"
