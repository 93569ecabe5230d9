"""The SMS gateway's calls to us: delivery receipts and customers' replies.

No session or token: the gateway signs each call with the shared secret ``SMS_WEBHOOK_SECRET``:

    X-Signature-Timestamp: <unix seconds>
    X-Signature: hex(HMAC-SHA256(secret, "<timestamp>." + raw body))

A call is refused — answered with the error contract, logged, and nothing changed — when its signature is
missing or wrong (401 ``bad_signature``), its timestamp further than ``FOLLOWUPS_WEBHOOK_MAX_AGE_SECONDS`` from
now (401 ``stale_timestamp``), its body not the JSON described below (400 ``malformed``), or its ``event_id``
already received (409 ``replayed``: ``WebhookReceipt`` keeps one row per event, written in the same
transaction as the call's changes).

* ``POST …/webhooks/sms/receipts/`` ``{"event_id", "message_id" (the gateway's id) or "idempotency_key",
  "status": "delivered" | "bounced" | "failed", "error_code", "error_text"}``: the message and its touch become
  delivered, or bounced/failed with the gateway's code (a bounce flags the customer: ``flag_bounced``).
* ``POST …/webhooks/sms/replies/`` ``{"event_id", "phone", "text"}``: "T", "TD" or a text with "退订" opts
  the sender out of marketing texts (``customers.services.sms_opt_out_record``: the consent history, with the
  reply's event id and the newest marketing text sent to them as its proof; the customer's history; and their
  pending marketing texts cancelled at once); other replies are only recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import phones
from customers.models import Customer
from dealercrm.core.api import error_response
from dealercrm.core.audit import acting_as
from dealercrm.core.privacy import mask_phone
from dealercrm.core.schema import ErrorSerializer

from .models import Message, Touch, TouchChannel, TouchClass, WebhookReceipt

log = logging.getLogger(__name__)

PROVIDER = "sms"
OPT_OUT_WORDS = {"T", "TD", "N", "退订", "退"}


class Refused(Exception):
    def __init__(self, status: int, code: str, message):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What the gateway sends as ``X-Signature`` (tests and the gateway's own code compute it this way)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _authenticate(request) -> bytes:
    body = request.body
    secret = settings.SMS_WEBHOOK_SECRET
    stamp = request.headers.get("X-Signature-Timestamp", "")
    given = request.headers.get("X-Signature", "")
    if not secret or not stamp or not given:
        raise Refused(401, "bad_signature", _("The call is not signed."))
    if not hmac.compare_digest(signature(secret, stamp, body), given.strip().lower()):
        raise Refused(401, "bad_signature", _("The signature does not match."))
    try:
        age = abs(time.time() - int(stamp))
    except ValueError as exc:
        raise Refused(401, "stale_timestamp", _("The timestamp is not a number of seconds.")) from exc
    if age > settings.FOLLOWUPS_WEBHOOK_MAX_AGE_SECONDS:
        raise Refused(401, "stale_timestamp", _("The call's timestamp is too far from now."))
    return body


def _parse(body: bytes, serializer_class) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, "malformed", _("The body is not JSON.")) from exc
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise Refused(
            400,
            "malformed",
            _("The body is not what this webhook reads: %(fields)s.") % {"fields": ", ".join(serializer.errors)},
        )
    return serializer.validated_data


def _kept(payload: dict) -> dict:
    """The payload as the receipt keeps it: a customer's number masked, with its keyed hash to find them again
    (no plain number in the database)."""
    if isinstance(payload, dict) and isinstance(payload.get("phone"), str):
        number = payload["phone"]
        payload = {**payload, "phone": mask_phone(number), "phone_hash": phones.hash_of(number)}
    return payload


def _receipt(event_id: str, payload: dict) -> None:
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(provider=PROVIDER, event_id=event_id, payload=payload)
    except IntegrityError as exc:
        raise Refused(409, "replayed", _("This event was already received.")) from exc


class SmsReceiptSerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=100)
    message_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=["delivered", "bounced", "failed"])
    error_code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    error_text = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs["message_id"] and not attrs["idempotency_key"]:
            raise serializers.ValidationError("message_id or idempotency_key")
        return attrs


class SmsReplySerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=32)
    text = serializers.CharField(max_length=1000, allow_blank=True)

    def validate_phone(self, value):
        try:
            number = phonenumbers.parse(value, "CN")
        except phonenumbers.NumberParseException as exc:
            raise serializers.ValidationError("phone") from exc
        if not phonenumbers.is_possible_number(number):
            raise serializers.ValidationError("phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


SIGNED = [
    OpenApiParameter("X-Signature-Timestamp", str, OpenApiParameter.HEADER, required=True),
    OpenApiParameter(
        "X-Signature", str, OpenApiParameter.HEADER, required=True, description=_("HMAC-SHA256 of timestamp.body")
    ),
]
OK = inline_serializer("WebhookResult", {"result": serializers.CharField()})
REFUSALS = {
    400: OpenApiResponse(
        ErrorSerializer, description=_("Refused (`malformed`): the body is not what this webhook reads.")
    ),
    401: OpenApiResponse(
        ErrorSerializer,
        description=_("Refused (`bad_signature`, `stale_timestamp`): not signed with the shared secret, or too old."),
    ),
    409: OpenApiResponse(ErrorSerializer, description=_("Refused (`replayed`): this event was already received.")),
}


class _Webhook(APIView):
    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)
    parser_classes = (JSONParser,)
    serializer_class = None
    name = ""

    def post(self, request, *args, **kwargs):
        try:
            body = _authenticate(request._request)
            data = _parse(body, self.serializer_class)
            with transaction.atomic(), acting_as(None, reason=f"system: sms webhook {self.name}"):
                _receipt(data["event_id"], _kept(json.loads(body)))
                result = self.handle(data)
        except Refused as refused:
            log.warning("SMS webhook %s refused (%s) from %s", self.name, refused.code, request.META.get("REMOTE_ADDR"))
            return error_response(refused.code, refused.message, status=refused.status)
        log.info("SMS webhook %s: event %s, %s", self.name, data["event_id"], result)
        return Response({"result": result})


class SmsReceiptWebhook(_Webhook):
    serializer_class = SmsReceiptSerializer
    name = "receipt"

    @extend_schema(
        summary=_("SMS delivery receipt (signed by the gateway)"),
        request=SmsReceiptSerializer,
        parameters=SIGNED,
        responses={200: OK, **REFUSALS},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle(self, data) -> str:
        now = timezone.now()
        found = Q(provider_ref=data["message_id"]) if data["message_id"] else Q(pk__in=[])
        if data["idempotency_key"]:
            found |= Q(idempotency_key=data["idempotency_key"])
        message = Message.objects.filter(found, channel=TouchChannel.SMS).select_related("touch").first()
        if message is None:
            return "unknown_message"
        delivered = data["status"] == "delivered"
        status = Message.Status.DELIVERED if delivered else Message.Status.BOUNCED
        Message.objects.filter(pk=message.pk).update(
            status=status, error_code=data["error_code"], error_text=data["error_text"], updated_at=now
        )
        if message.touch_id:
            touches = Touch.objects.filter(
                pk=message.touch_id,
                status__in=(Touch.Status.SENT, Touch.Status.AMBIGUOUS, Touch.Status.DELIVERED),
            )
            if delivered:
                touches.update(status=Touch.Status.DELIVERED, delivered_at=now, reason="", updated_at=now)
            else:
                touches.update(
                    status=Touch.Status.FAILED,
                    reason="provider_error",
                    reason_detail=str(_("The text bounced (%(code)s).") % {"code": data["error_code"] or "—"})[:300],
                    error_code=data["error_code"],
                    error_text=data["error_text"],
                    updated_at=now,
                )
        if data["status"] == "bounced":
            # through the row, so that the customer's history records it
            customer = Customer.objects.select_for_update().get(pk=message.customer_id)
            if not customer.flag_bounced:
                customer.flag_bounced = True
                customer.save(update_fields=["flag_bounced", "updated_at"])
        return status


def is_opt_out(text: str) -> bool:
    words = (text or "").strip().upper().rstrip("。.!！")
    return words in OPT_OUT_WORDS or "退订" in words


class SmsReplyWebhook(_Webhook):
    serializer_class = SmsReplySerializer
    name = "reply"

    @extend_schema(
        summary=_("A customer's reply to a text (signed by the gateway)"),
        request=SmsReplySerializer,
        parameters=SIGNED,
        responses={200: OK, **REFUSALS},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle(self, data) -> str:
        if not is_opt_out(data["text"]):
            return "recorded"
        from customers.services import sms_opt_out_record

        customers = list(phones.same_number(Customer.objects.all(), data["phone"]))
        for customer in customers:
            # the proof: the gateway's event id of the reply, and the marketing text it answered
            sms_opt_out_record(customer=customer, reference=data["event_id"], text_shown=last_marketing_text(customer))
        return "opted_out" if customers else "unknown_phone"


def last_marketing_text(customer) -> str:
    """The text of the newest marketing message sent to ``customer`` by SMS (what a "T" reply answers), or ""."""
    body = (
        Message.objects.filter(customer=customer, channel=TouchChannel.SMS, touch__touch_class=TouchClass.MARKETING)
        .exclude(status__in=(Message.Status.FAILED, Message.Status.BOUNCED))
        .order_by("-created_at", "-id")
        .values_list("body", flat=True)
        .first()
    )
    return body or ""
