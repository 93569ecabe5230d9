"""What a locked-out login gets (django-axes' ``AXES_LOCKOUT_CALLABLE``).

The API (the token endpoint) answers 429 in the error contract with the stable code ``locked_out``;
a page (the login page, the admin's login) renders the translated lockout page, also with 429.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

LOCKED_OUT = "locked_out"


def client_ip(request) -> str:
    """The client's address for counting failed logins (``AXES_CLIENT_IP_CALLABLE``).

    ``REMOTE_ADDR``, unless ``TRUSTED_PROXY_COUNT`` trusted proxies stand in front: then the address the
    outermost of them saw, read from the right of ``X-Forwarded-For`` (the entries left of it are the
    client's to write, so they are never trusted).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    return hops[-proxies] if len(hops) >= proxies else remote


def cool_off_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0


def lockout_message() -> str:
    return _(
        "Too many failed logins for this username from your address. Try again in %(minutes)d minutes, "
        "or ask your administrator to reset your password."
    ) % {"minutes": cool_off_minutes()}


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        from .api import error_body

        return JsonResponse(error_body(LOCKED_OUT, lockout_message()), status=429)
    return render(
        request,
        "registration/locked_out.html",
        {"message": lockout_message(), "minutes": cool_off_minutes()},
        status=429,
    )
