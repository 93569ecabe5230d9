"""The Django admin's site (apart from ``admin.py``, which registers on it while it is being made)."""

from django.contrib import admin


class OperatorsAdminSite(admin.AdminSite):
    """The Django admin is for the platform's operators (superusers made with ``createsuperuser``) only.

    It reads every dealership's records, so ``is_staff`` alone does not let anyone in, and a dealership's
    administrator (the "admin" role) manages their own dealerships in the app's pages (/staff/) instead.
    API tokens are not registered here: no key or digest is ever shown.
    """

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and user.is_superuser)
