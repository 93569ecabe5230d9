"""API token authentication: knox's hashed tokens, cheap on the hot path.

``Authorization: Token <key>``. One query reads the token (by its key's first characters) with its
user; the key is checked against the stored SHA-512 digest. An expired token, a revoked one (deleted)
and a deactivated user's token are refused. The token's last use is written by a conditional UPDATE at
most once a minute per token, so a busy client costs one write a minute, not one per request.
"""

from datetime import timedelta
from hmac import compare_digest

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from .models import ApiToken

#: how stale ``last_used_at`` may be before a request writes it again
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        invalid = _("Invalid token.")
        try:
            key = token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(invalid) from None
        now = timezone.now()
        candidates = ApiToken.objects.filter(
            Q(expiry__isnull=True) | Q(expiry__gt=now), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]
        ).select_related("user")
        digest = hash_token(key)
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                user, auth_token = self.validate_user(auth_token)
                self.touch(auth_token, now)
                return user, auth_token
        raise exceptions.AuthenticationFailed(invalid)

    @staticmethod
    def touch(auth_token: ApiToken, now) -> None:
        """Record the token's use, at most once per ``LAST_USED_RESOLUTION`` (a conditional UPDATE, no history)."""
        last = auth_token.last_used_at
        if last is not None and now - last < LAST_USED_RESOLUTION:
            return
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=auth_token.pk
        ).update(last_used_at=now)
        auth_token.last_used_at = now


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the header in the schema as DRF's token scheme was (``tokenAuth``)."""

    target_class = "dealercrm.core.auth.TokenAuthentication"
    name = "tokenAuth"
    priority = 1  # over drf-spectacular's own extension for knox

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": str(_('Token-based authentication: "Token <key>", the key shown once when it was issued.')),
        }
