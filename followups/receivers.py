"""What the follow-ups do when the customers app says something changed (connected in ``apps.ready``).

* ``contact_rules_changed``: pending touches stop at once, in the same transaction as the change, through
  ``stops.cancel_pending`` with the rule's reason — do-not-contact: everything; marketing consent withdrawn:
  marketing touches; a wrong number: calls and texts; a "T" reply: marketing texts.
* A message template is checked before any save (``messaging.template_check``): an unknown variable or a banned
  expression never reaches the table, whichever page, API or script saves it.
"""

from __future__ import annotations

from django.db.models import Q
from django.db.models.signals import pre_save
from django.dispatch import receiver

from customers import signals as customer_signals

from . import messaging
from .models import PHONE_CHANNELS, MessageTemplate, Touch, TouchChannel, TouchClass
from .stops import cancel_pending

#: rule → (which pending touches stop, the reason recorded on them)
STOPS = {
    customer_signals.DO_NOT_CONTACT: (Q(), "do_not_contact"),
    customer_signals.CONSENT_WITHDRAWN: (Q(touch_class=TouchClass.MARKETING), "no_marketing_consent"),
    customer_signals.WRONG_NUMBER: (Q(channel__in=PHONE_CHANNELS), "wrong_number"),
    customer_signals.SMS_OPT_OUT: (Q(touch_class=TouchClass.MARKETING, channel=TouchChannel.SMS), "sms_opt_out"),
}


@receiver(customer_signals.contact_rules_changed, dispatch_uid="followups.cancel_on_contact_rules")
def cancel_on_contact_rules(sender, customer, rule, **kwargs) -> int:
    which, reason = STOPS[rule]
    return cancel_pending(Touch.objects.filter(which, customer_id=customer.pk), reason=reason)


@receiver(pre_save, sender=MessageTemplate, dispatch_uid="followups.check_message_template")
def check_message_template(sender, instance: MessageTemplate, raw=False, **kwargs) -> None:
    if raw:  # loading fixtures
        return
    messaging.template_check(
        dealership=instance.dealership,
        kind=instance.kind,
        channel=instance.channel,
        body=instance.body,
        subject=instance.subject,
    )
