"""A customer's phone number, stored encrypted: the one place that knows how it is found.

The ``phone`` column holds a ciphertext (``dealercrm.core.fields.EncryptedPhoneField``). Beside it:

* ``phone_hash``: the keyed hash (HMAC-SHA256, ``dealercrm.core.crypto.blind_index``) of the number in E.164,
  for an exact lookup (the counter's whole number, an SMS reply, the API's ``?phone=``) and for possible
  duplicates (two customers of a store with the same hash);
* ``phone_last4``: its last four digits, for the counter's partial search ("the end of the number"): the
  few customers whose last four match are decrypted and compared in full.

Every way in (a page, the API, the DMS import, the demo seed, a merge or an erasure) stores a number through
``stored_columns`` or ``Customer.save``, and every search goes through ``matching``.
"""

from __future__ import annotations

import phonenumbers
from django.db.models import Q
from phonenumber_field.phonenumber import PhoneNumber, to_python

from dealercrm.core import crypto

#: digits a partial search needs: fewer match too many numbers to mean anything
PARTIAL_MIN_DIGITS = 4


def e164(phone) -> str:
    """The number as stored before encryption: E.164 when valid (``+8613812345678``), else as typed."""
    if not phone:
        return ""
    number = phone if isinstance(phone, PhoneNumber) else to_python(phone, region="CN")
    if not number:
        return ""
    if isinstance(number, PhoneNumber) and number.is_valid():
        return number.as_e164
    return str(getattr(number, "raw_input", None) or number)


def national_digits(phone) -> str:
    """The digits a person dials at home: ``13812345678``, ``75512345678`` (no +86, no trunk 0)."""
    text = e164(phone)
    return text.removeprefix("+86") if text.startswith("+86") else "".join(c for c in text if c.isdigit())


def hash_of(phone) -> str:
    text = e164(phone)
    return crypto.blind_index(text) if text else ""


def last4_of(phone) -> str:
    return national_digits(phone)[-4:]


def stored_columns(phone) -> tuple[str | None, str, str]:
    """(ciphertext, hash, last four) of a number, as the bulk writers store them; (None, "", "") for none."""
    text = e164(phone)
    if not text:
        return None, "", ""
    return crypto.encrypt(text), crypto.blind_index(text), national_digits(text)[-4:]


def stored_columns_e164(text: str) -> tuple[str, str, str]:
    """``stored_columns`` of a number already checked and written in E.164 (the DMS import, the demo seed): the
    same three values without parsing it again (parsing is most of the cost: 20,000 → 150,000 numbers a second)."""
    return crypto.encrypt(text), crypto.blind_index(text), text[-4:]


def full_number_hash(digits: str) -> str | None:
    """The hash to look up when ``digits`` (national digits, as the search box cleans them) are a whole
    mainland number; None when they are not (then they may be the end of one)."""
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return crypto.blind_index(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def matching(queryset, digits: str, *, prefix: str = "") -> Q:
    """Customers (``prefix``: the path to them, e.g. ``"customer__"``) whose number is ``digits`` or ends with
    them (at least ``PARTIAL_MIN_DIGITS``). A whole number is one indexed hash lookup; an end is the customers
    with the same last four digits (an index), decrypted and compared, turned into their ids. ``queryset`` is
    the customers the caller may see (it bounds the candidates)."""
    if len(digits) < PARTIAL_MIN_DIGITS:
        return Q(pk__in=[])
    whole = full_number_hash(digits)
    if whole is not None:
        return Q(**{f"{prefix}phone_hash": whole})
    if len(digits) == PARTIAL_MIN_DIGITS:
        return Q(**{f"{prefix}phone_last4": digits})
    candidates = queryset.filter(phone_last4=digits[-PARTIAL_MIN_DIGITS:]).values_list("pk", "phone")
    ids = [pk for pk, phone in candidates if national_digits(phone).endswith(digits)]
    return Q(**{f"{prefix}pk__in": ids})


def same_number(queryset, phone):
    """The customers of ``queryset`` with exactly this number."""
    text = e164(phone)
    return queryset.filter(phone_hash=crypto.blind_index(text)) if text else queryset.none()
