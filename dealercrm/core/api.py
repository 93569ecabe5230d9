"""API plumbing shared by every app: pagination, permissions, tenancy, errors."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination, permissions
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import ApplicationError
from .roles import can
from .tenancy import requested_code, user_dealerships


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"


class DealershipRequired(exceptions.APIException):
    status_code = 400
    default_detail = _("You belong to several dealerships: name one with the X-Dealership header or ?dealership=.")
    default_code = "dealership_required"


class HasAction(permissions.BasePermission):
    """Checks the role table: the view maps DRF actions (or methods) to role-table actions.

    ``action_permissions = {"list": "customer.view", "create": "customer.edit", ...}``;
    a view with a single action sets ``required_action``.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        action = getattr(view, "required_action", None)
        mapping = getattr(view, "action_permissions", None)
        if mapping is not None:
            key = getattr(view, "action", None) or request.method.lower()
            action = mapping.get(key, mapping.get("*"))
        if action is None:
            return False
        return can(request.user, action)


class DealershipScopedMixin:
    """Gives API views ``self.dealership``; querysets filter by it so that foreign rows are 404."""

    permission_classes = [permissions.IsAuthenticated, HasAction]

    @property
    def dealership(self):
        if not hasattr(self, "_dealership"):
            request = self.request
            if not requested_code(request) and user_dealerships(request.user).count() > 1:
                raise DealershipRequired()
            dealership = request._request.dealership
            if not dealership:
                raise exceptions.PermissionDenied(_("Your account belongs to no dealership."))
            self._dealership = dealership
        return self._dealership

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Resolve early so that an unknown dealership answers 404 before anything else.
        self.dealership  # noqa: B018

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["dealership"] = self.dealership
        return context


def exception_handler(exc, context):
    """Service refusals and model validation become 400s with a readable message."""
    if isinstance(exc, ApplicationError):
        exc = exceptions.ValidationError({"detail": exc.message, **exc.extra})
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)
