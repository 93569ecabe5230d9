"""What a locked-out login gets (django-axes' ``AXES_LOCKOUT_CALLABLE``), and the access event of every failed one.

The API (the token endpoint) answers 429 in the error contract with the stable code ``locked_out``;
a page (the login page, the admin's login) renders the translated lockout page, also with 429.

Every failed sign-in (the login page, the admin's login, the token endpoint; a locked-out attempt too) is one
access event of kind ``login_failed`` with the username tried and the address (``record_failed_login``, on
Django's ``user_login_failed``, which ``authenticate`` sends once per failed attempt, whichever back end refused).
"""

from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
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


def address_only(request):
    """What of ``request`` an access event may take: the client's address, not the session's user or dealership
    (a sign-in concerns the user whose name was given, whoever else the browser is logged in as)."""
    return SimpleNamespace(META=getattr(request, "META", {}))


@receiver(user_login_failed, dispatch_uid="dealercrm.core.lockout.record_failed_login")
def record_failed_login(sender, credentials=None, request=None, **kwargs):
    """One access event per failed sign-in: the username tried (and its user, when one has that name) and the
    address; no dealership (the user's dealerships find it on their access log)."""
    from django.contrib.auth import get_user_model

    from . import access_log

    username = str((credentials or {}).get(get_user_model().USERNAME_FIELD) or "")[:150]
    model = get_user_model()
    user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first() if username else None
    access_log.record(
        access_log.Kind.LOGIN_FAILED,
        user=user,
        username=username,
        request=address_only(request) if request is not None else None,
        what="sign-in (API)" if str(getattr(request, "path", "")).startswith("/api/") else "sign-in",
        details={"locked_out": True} if getattr(request, "axes_locked_out", False) else {},
    )
