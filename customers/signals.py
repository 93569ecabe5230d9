"""Signals the customers app sends for the apps above it, which it never imports.

``contact_rules_changed`` — a customer's contact rules have just tightened: sent by the customers services (and
the campaigns' wrong-number flag) inside the writing transaction, so that whatever the receivers do (the
follow-ups cancel pending touches, ``followups.receivers``) commits or rolls back with the change itself.
Arguments: ``customer`` (the row as saved) and ``rule``, one of the constants below.
"""

from django.dispatch import Signal

DO_NOT_CONTACT = "do_not_contact"
CONSENT_WITHDRAWN = "consent_withdrawn"
WRONG_NUMBER = "wrong_number"
SMS_OPT_OUT = "sms_opt_out"
RULES = (DO_NOT_CONTACT, CONSENT_WITHDRAWN, WRONG_NUMBER, SMS_OPT_OUT)

#: the customer's flags whose turning on is a rule change (``customer_update``)
FLAG_RULES = {DO_NOT_CONTACT: "do_not_contact", WRONG_NUMBER: "flag_wrong_number"}

contact_rules_changed = Signal()


def send_rule_change(customer, rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"Unknown contact rule {rule!r}")
    contact_rules_changed.send(sender=type(customer), customer=customer, rule=rule)
