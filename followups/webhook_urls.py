"""The providers' webhooks, under /api/v1/followups/webhooks/: signed by the provider, no session or token
(``followups.webhooks``; in tests/core/test_access.py's PUBLIC list with the reason)."""

from django.urls import path

from .webhooks import SmsReceiptWebhook, SmsReplyWebhook

urlpatterns = [
    path("webhooks/sms/receipts/", SmsReceiptWebhook.as_view(), name="api-followups-webhook-sms-receipt"),
    path("webhooks/sms/replies/", SmsReplyWebhook.as_view(), name="api-followups-webhook-sms-reply"),
]
