"""Who may be contacted, for which class of touch, through which channel: the rule, written once.

SPEC "Follow-ups and reminders": service touches (follow-ups, satisfaction calls, surveys, complaints,
maintenance reminders) need no marketing consent; marketing touches (campaign invitations and offers, birthday
care with an offer, wake-ups) need it; do-not-contact stops everything at once; a known wrong number stops what
goes to the phone number (calls and texts); a "T" reply to a text stops marketing texts.

The rule is one table of conditions on the customer's own fields (``requirements``). It is read three ways, so
that campaign targeting, the agent's queue, the call card and the dispatcher cannot disagree:

* ``contactable(...)`` — a ``Q`` for querysets, on the customer or through a relation (``prefix``);
* ``contactable_sql(...)`` — the same conditions as an SQL fragment on a table alias, for the few hand-written
  statements (the call card's queue head), held to the ``Q``'s answers by tests;
* ``refusal(customer, ...)`` / ``may_contact(...)`` — for one customer already in hand, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

SERVICE = "service"
MARKETING = "marketing"
CLASSES = (SERVICE, MARKETING)
#: the channels that reach the customer's phone number
PHONE_CHANNELS = frozenset({"call", "sms"})
CHANNELS = ("call", "sms", "wechat", "email")


@dataclass(frozen=True)
class Condition:
    field: str
    required: bool
    code: str
    message: str


#: in the order a refusal names them: the strongest reason first
DO_NOT_CONTACT = Condition(
    "do_not_contact", False, "do_not_contact", _("The customer is on do-not-contact: nobody may contact them.")
)
NO_CONSENT = Condition(
    "marketing_consent",
    True,
    "no_marketing_consent",
    _("The customer has not given (or has withdrawn) marketing consent: no marketing may reach them."),
)
SMS_OPT_OUT = Condition(
    "sms_opt_out", False, "sms_opt_out", _("The customer replied “T” to a text: no marketing texts may reach them.")
)
WRONG_NUMBER = Condition(
    "flag_wrong_number",
    False,
    "wrong_number",
    _("The customer's phone number is known to be wrong: correct it before calling or texting."),
)


def requirements(touch_class: str, channel: str = "call") -> tuple[Condition, ...]:
    """The conditions a customer must meet to be contacted for ``touch_class`` through ``channel``."""
    if touch_class not in CLASSES:
        raise ValueError(f"Unknown class of touch {touch_class!r}")
    if channel not in CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}")
    conditions = [DO_NOT_CONTACT]
    if touch_class == MARKETING:
        conditions.append(NO_CONSENT)
        if channel == "sms":
            conditions.append(SMS_OPT_OUT)
    if channel in PHONE_CHANNELS:
        conditions.append(WRONG_NUMBER)
    return tuple(conditions)


def contactable(touch_class: str, channel: str = "call", *, prefix: str = "") -> Q:
    """The customers who may be contacted, as a ``Q`` on ``Customer`` or through ``prefix`` (e.g.
    ``"customer__"`` on a model that points at the customer)."""
    return Q(**{f"{prefix}{c.field}": c.required for c in requirements(touch_class, channel)})


def contactable_sql(touch_class: str, channel: str = "call", *, alias: str) -> str:
    """The same conditions as ``contactable`` on the customers table's ``alias`` (boolean columns, portable
    between PostgreSQL and SQLite)."""
    from .models import Customer

    parts = []
    for c in requirements(touch_class, channel):
        column = f"{alias}.{Customer._meta.get_field(c.field).column}"
        parts.append(column if c.required else f"NOT {column}")
    return "(" + " AND ".join(parts) + ")"


def refusal(customer, touch_class: str, channel: str = "call") -> Condition | None:
    """The first condition ``customer`` does not meet (its ``code`` and ``message`` say why), or None."""
    for condition in requirements(touch_class, channel):
        if bool(getattr(customer, condition.field)) is not condition.required:
            return condition
    return None


def may_contact(customer, touch_class: str, channel: str = "call") -> bool:
    return refusal(customer, touch_class, channel) is None
