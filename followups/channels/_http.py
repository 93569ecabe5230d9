"""One POST of JSON to a provider, telling a definite answer from an unknown one (``requests``)."""

from __future__ import annotations

import requests
from django.conf import settings

from .base import SendResult


class Unknown(Exception):
    """The request may have reached the provider, but no answer came back."""


class Unreachable(Exception):
    """The request never reached the provider (no connection): nothing was sent."""


def post_json(url: str, payload: dict, *, headers: dict | None = None, timeout: float | None = None):
    """POST ``payload``; returns ``(status, json_or_None)``. Raises ``Unknown`` (timeout, connection broken
    after sending) or ``Unreachable`` (no connection made)."""
    timeout = settings.FOLLOWUPS_HTTP_TIMEOUT if timeout is None else timeout
    try:
        response = requests.post(url, json=payload, headers=headers or {}, timeout=timeout)
    except requests.ConnectTimeout as exc:
        raise Unreachable(str(exc)) from exc
    except requests.ConnectionError as exc:
        cause = exc.args[0] if exc.args else None
        reason = getattr(cause, "reason", None)
        if "NewConnectionError" in type(reason).__name__ or "NewConnectionError" in str(cause):
            raise Unreachable(str(exc)) from exc
        raise Unknown(str(exc)) from exc
    except requests.Timeout as exc:  # the read timed out: the provider may have taken it
        raise Unknown(str(exc)) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body


def result_of_exception(exc: Exception) -> SendResult:
    if isinstance(exc, Unreachable):
        return SendResult.failed("unreachable", exc)
    return SendResult.unknown(exc)
