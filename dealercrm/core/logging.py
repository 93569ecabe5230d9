"""The logs hold no plain phone number (PIPL): a filter that masks mainland numbers in every record.

``MaskPhoneNumbers`` sits on the console handler of ``LOGGING`` (``dealercrm/settings/base.py``), through which
every logger's records pass (Django's, Celery's, the app's own: they propagate to the root logger). It masks, in
a record's message as formatted (``msg % args``), its exception text and its stack:

* numbers in E.164 form, ``+86`` (or ``0086``) and the national number, with or without spaces or hyphens:
  ``+86 138 0013 8000`` → ``+86138****8000``;
* an 11-digit mobile number (``1[3-9]`` and nine more digits), with or without separators, also after a bare
  ``86``: ``138-0013-8000`` → ``138****8000``, ``8613800138000`` → ``86138****8000``.

A longer run of digits (an id, a timestamp in milliseconds) is not a phone number and is left as it is. The
mask is the one the pages show (the first three and the last four digits).
"""

from __future__ import annotations

import logging
import re

_SEP = r"[ \-]?"
#: +86 / 0086 and a national number of 9 to 12 digits (mobiles and fixed lines)
_E164 = re.compile(rf"(?:\+ ?|(?<![\d+])00)86{_SEP}(\d(?:{_SEP}\d){{8,11}})(?!\d)")
#: a bare 86 directly before a mobile number (``8613800138000``, URL-encoded ``%2B8613800138000``)
_BARE_CC = re.compile(rf"(?<![\d+])86{_SEP}(1[3-9]\d(?:{_SEP}\d){{8}})(?!\d)")
#: an 11-digit mainland mobile number
_MOBILE = re.compile(rf"(?<!\d)1[3-9]\d(?:{_SEP}\d){{8}}(?!\d)")

_formatter = logging.Formatter()


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def mask_phone(digits: str) -> str:
    """``13800138000`` → ``138****8000``: as ``dealercrm.core.privacy.mask_phone`` shows a number (not imported
    from there: logging is configured before the apps load)."""
    keep = 3 if len(digits) >= 11 else 2
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def mask_phones(text: str) -> str:
    """``text`` with every mainland phone number in it masked."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _E164.sub(lambda m: "+86" + mask_phone(_digits(m.group(1))), text)
    text = _BARE_CC.sub(lambda m: "86" + mask_phone(_digits(m.group(1))), text)
    return _MOBILE.sub(lambda m: mask_phone(_digits(m.group(0))), text)


class MaskPhoneNumbers(logging.Filter):
    """Masks phone numbers in a record's formatted message, exception text and stack; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit: the handler reports it as usual
            return True
        masked = mask_phones(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones(record.stack_info)
        return True
