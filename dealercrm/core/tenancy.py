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


def resolve_dealership(request) -> Dealership | None:
    """The dealership ``request`` works in, or None for an anonymous request or a user without any."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return None
    mine = user_dealerships(user)
    code = requested_code(request)
    if code:
        dealership = mine.filter(code__iexact=code).first()
        if dealership is None:
            raise Http404(_("No dealership “%(code)s” among yours.") % {"code": code})
        return dealership
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY):
        dealership = mine.filter(pk=session[SESSION_KEY]).first()
        if dealership is not None:
            return dealership
    return mine.first()
