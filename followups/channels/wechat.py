"""WeChat service-account template messages over HTTP: service touches only (no marketing, WeChat's rule).

The API (as WeChat's): ``GET {WECHAT_API_URL}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…``
gives an access token (kept until it expires); ``POST {WECHAT_API_URL}/cgi-bin/message/template/send?
access_token=…`` with ``{"touser": openid, "template_id": …, "url": link, "data": {name: {"value": …}},
"client_msg_id": <the touch's idempotency key>}`` answers ``{"errcode": 0, "msgid": …}`` or an error code.

Whether WeChat may be used for a touch at all (an OpenID, the customer's one-time subscription quota, a
service touch) is the dispatcher's decision (``followups.dispatcher``: it falls back to SMS, else a call).
This back end still refuses a marketing message outright, so that no path can send one.
"""

from __future__ import annotations

import threading
import time

import requests
from django.conf import settings

from . import _http
from .base import Channel, Outgoing, SendResult

_token_lock = threading.Lock()
_token: dict = {}


def _access_token() -> str:
    with _token_lock:
        if _token.get("value") and _token.get("until", 0) > time.monotonic():
            return _token["value"]
        response = requests.get(
            settings.WECHAT_API_URL.rstrip("/") + "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": settings.WECHAT_APP_ID,
                "secret": settings.WECHAT_APP_SECRET,
            },
            timeout=settings.FOLLOWUPS_HTTP_TIMEOUT,
        )
        answer = response.json()
        if not answer.get("access_token"):
            raise PermissionError(f"{answer.get('errcode', response.status_code)}: {answer.get('errmsg', '')}")
        _token.update(value=answer["access_token"], until=time.monotonic() + int(answer.get("expires_in", 7200)) - 60)
        return _token["value"]


def forget_token() -> None:
    with _token_lock:
        _token.clear()


class WeChatChannel(Channel):
    name = "wechat"

    def send(self, message: Outgoing) -> SendResult:
        if message.marketing:
            return SendResult.failed("marketing_not_allowed", "WeChat template messages may carry no marketing")
        try:
            token = _access_token()
        except (requests.RequestException, ValueError, PermissionError) as exc:  # nothing sent yet
            return SendResult.failed("token", str(exc))
        payload = {
            "touser": message.recipient,
            "template_id": message.template_code,
            "url": message.link,
            "data": {name: {"value": str(value)} for name, value in {**message.params, "text": message.body}.items()},
            "client_msg_id": message.idempotency_key,
        }
        url = settings.WECHAT_API_URL.rstrip("/") + "/cgi-bin/message/template/send?access_token=" + token
        try:
            status, answer = _http.post_json(url, payload)
        except (_http.Unknown, _http.Unreachable) as exc:
            return _http.result_of_exception(exc)
        answer = answer if isinstance(answer, dict) else {}
        if status == 200 and answer.get("errcode") == 0:
            return SendResult.accepted(answer.get("msgid", ""))
        if answer.get("errcode") in (40001, 42001):  # the token was refused: fetch a new one next time
            forget_token()
        return SendResult.failed(answer.get("errcode", f"http_{status}"), answer.get("errmsg", ""))


def wechat_subscription_grant(*, customer, granted_at=None):
    """The customer authorised one one-time subscription message (WeChat's subscribe event, relayed by the
    account's server): one more message may reach them on WeChat."""
    from django.utils import timezone

    from followups.models import WeChatSubscription

    return WeChatSubscription.objects.create(customer=customer, granted_at=granted_at or timezone.now())


def wechat_quota(customer) -> int:
    """How many one-time subscription messages the customer has left."""
    from followups.models import WeChatSubscription

    return WeChatSubscription.objects.filter(customer=customer, used_at__isnull=True).count()
