"""Email through Django's mail (``EMAIL_BACKEND``): to the customer's ``email``.

The idempotency key travels as the ``Message-ID`` and an ``X-Idempotency-Key`` header. An SMTP error that says
the message was refused is definite; a connection that breaks or times out while sending is ambiguous."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from .base import Channel, Outgoing, SendResult


class EmailChannel(Channel):
    name = "email"

    def send(self, message: Outgoing) -> SendResult:
        domain = getattr(settings, "EMAIL_MESSAGE_ID_DOMAIN", "dealercrm.local")
        message_id = f"<{message.idempotency_key}@{domain}>"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            to=[message.recipient],
            headers={"Message-ID": message_id, "X-Idempotency-Key": message.idempotency_key},
        )
        try:
            email.send(fail_silently=False)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            code = getattr(exc, "smtp_code", "") or "smtp_refused"
            return SendResult.failed(code, str(exc))
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            return SendResult.unknown(str(exc))
        except (OSError, smtplib.SMTPException) as exc:  # could not connect: nothing was sent
            return SendResult.failed("smtp_unavailable", str(exc))
        return SendResult.accepted(message_id)
