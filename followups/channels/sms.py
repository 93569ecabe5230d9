"""An SMS gateway over HTTP: the carrier-approved signature and template code, the template's parameters.

The request (``POST {SMS_GATEWAY_URL}/send``, JSON)::

    {"phone": "+8613800138000", "sign": "别克4S店", "template_code": "SMS_001",
     "params": {"customer_name": "…"}, "content": "the text as rendered", "marketing": false}

with the headers ``Authorization: Bearer {SMS_GATEWAY_KEY}`` and ``Idempotency-Key: <the touch's key>`` (the
same key on every retry of the same touch, so the gateway sends it at most once). Answers: 200 with
``{"code": "OK", "message_id": "…"}``; anything else is the gateway's refusal, ``{"code": …, "message": …}``
(recorded on the touch). No answer in time, or a connection broken after the request left: unknown.

Marketing texts end with the opt-out "回T退订" (the carriers' rule): added here when the text lacks it.
"""

from __future__ import annotations

from django.conf import settings

from . import _http
from .base import Channel, Outgoing, SendResult

OPT_OUT = "回T退订"


def with_opt_out(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith(OPT_OUT) else f"{text} {OPT_OUT}"


class SmsGatewayChannel(Channel):
    name = "sms_gateway"

    def send(self, message: Outgoing) -> SendResult:
        body = with_opt_out(message.body) if message.marketing else message.body
        payload = {
            "phone": message.recipient,
            "sign": message.signature or settings.SMS_SIGNATURE,
            "template_code": message.template_code,
            "params": message.params,
            "content": body,
            "marketing": message.marketing,
        }
        headers = {
            "Authorization": f"Bearer {settings.SMS_GATEWAY_KEY}",
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            status, answer = _http.post_json(settings.SMS_GATEWAY_URL.rstrip("/") + "/send", payload, headers=headers)
        except (_http.Unknown, _http.Unreachable) as exc:
            return _http.result_of_exception(exc)
        answer = answer if isinstance(answer, dict) else {}
        if status == 200 and str(answer.get("code", "")).upper() == "OK":
            return SendResult.accepted(answer.get("message_id", ""))
        return SendResult.failed(answer.get("code") or f"http_{status}", answer.get("message") or "")
