"""Which dealership a request works in.

Order: ``?dealership=CODE`` (pages and API), the ``X-Dealership`` header (API),
the choice kept in the session (the header switcher), the user's only store,
else the first of the user's stores by code. A code the user does not belong
to answers 404, so another store's existence is never confirmed.
"""

from django.http import Http404
from django.utils.translation import gettext as _

from .models import Dealership

SESSION_KEY = "current_dealership"


def user_dealerships(user):
    if not getattr(user, "is_authenticated", False):
        return Dealership.objects.none()
    return Dealership.objects.filter(memberships__user=user, is_active=True).order_by("code")


def requested_code(request) -> str:
    return (request.GET.get("dealership") or request.headers.get("X-Dealership") or "").strip()


def request_dealerships(request) -> list[Dealership]:
    """The requesting user's dealerships, read once per request (the current one and the header's switcher
    both come from this list)."""
    user = getattr(request, "user", None)
    cached = getattr(request, "_my_dealerships", None)
    if cached is None or cached[0] != getattr(user, "pk", None):
        cached = (getattr(user, "pk", None), list(user_dealerships(user)))
        request._my_dealerships = cached
    return cached[1]


def resolve_dealership(request) -> Dealership | None:
    """The dealership ``request`` works in, or None for an anonymous request or a user without any."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return None
    mine = request_dealerships(request)
    code = requested_code(request)
    if code:
        dealership = next((d for d in mine if d.code.lower() == code.lower()), None)
        if dealership is None:
            raise Http404(_("No dealership “%(code)s” among yours.") % {"code": code})
        return dealership
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY):
        dealership = next((d for d in mine if d.pk == session[SESSION_KEY]), None)
        if dealership is not None:
            return dealership
    return mine[0] if mine else None
