from django.http import Http404

from .roles import PERMISSIONS, can
from .tenancy import request_dealerships


class _Can:
    """``{{ can.customer_edit }}`` in templates: the role table, with dots as underscores."""

    def __init__(self, user):
        self.user = user

    def __getattr__(self, name):
        action = name.replace("_", ".", 1)
        if action not in PERMISSIONS:
            raise AttributeError(name)
        return can(self.user, action)


def tenancy(request):
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    try:
        current = getattr(request, "dealership", None)
        current = current if current else None
    except Http404:
        current = None
    return {
        "current_dealership": current,
        "my_dealerships": request_dealerships(request),
        "can": _Can(user),
    }
