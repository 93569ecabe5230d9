"""What every channel back end is: it takes an ``Outgoing`` message and answers a ``SendResult``.

A back end never writes the ledger: the dispatcher records the ``Message`` and the touch's state from the
result. Three kinds of result:

* ``accepted`` — the provider took it (``provider_ref`` is its id for the message);
* ``failed`` — the provider answered with a definite refusal (``error_code``/``error_text``): retried later
  with the same idempotency key, up to the touch's attempts;
* ``unknown`` — no answer in time, a broken connection: whether it was sent is unknown, so it is never sent
  again by itself (the touch becomes *ambiguous*).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

ACCEPTED = "accepted"
FAILED = "failed"
UNKNOWN = "unknown"


@dataclass
class Outgoing:
    """One message to hand to a provider."""

    channel: str
    recipient: str
    body: str
    idempotency_key: str
    subject: str = ""
    marketing: bool = False
    #: the provider's approved template (SMS template code, WeChat template id) and its parameters
    template_code: str = ""
    params: dict = field(default_factory=dict)
    signature: str = ""
    #: a link the message carries (WeChat shows it as the message's target)
    link: str = ""


@dataclass
class SendResult:
    status: str
    provider_ref: str = ""
    error_code: str = ""
    error_text: str = ""

    @classmethod
    def accepted(cls, provider_ref: str = "") -> SendResult:
        return cls(ACCEPTED, provider_ref=str(provider_ref)[:64])

    @classmethod
    def failed(cls, code, text="") -> SendResult:
        return cls(FAILED, error_code=str(code)[:40], error_text=str(text)[:300])

    @classmethod
    def unknown(cls, text="") -> SendResult:
        return cls(UNKNOWN, error_code="timeout", error_text=str(text)[:300])


class Channel:
    """A back end of one channel. ``remote`` back ends talk to a provider outside the database: the dispatcher
    records the message as in flight (committed) before it calls ``send``, so that a worker dying mid-send
    leaves the touch ambiguous rather than sent twice."""

    #: the name recorded on ``Message.backend``
    name = "base"
    remote = True

    def __init__(self, channel: str):
        self.channel = channel

    def address(self, customer) -> str:
        """The customer's address on this channel, or "" when they have none."""
        if self.channel == "sms":
            return str(customer.phone or "")
        if self.channel == "email":
            return customer.email or ""
        if self.channel == "wechat":
            return customer.wechat_openid or ""
        return ""

    def send(self, message: Outgoing) -> SendResult:  # pragma: no cover - every back end overrides it
        raise NotImplementedError


@functools.cache
def _backend_class(path: str):
    return import_string(path)


def channel_for(channel: str) -> Channel:
    """The configured back end of ``channel`` (``settings.FOLLOWUPS_CHANNELS``)."""
    path = settings.FOLLOWUPS_CHANNELS.get(channel)
    if not path:
        raise LookupError(f"No back end configured for channel {channel!r} (settings.FOLLOWUPS_CHANNELS)")
    return _backend_class(path)(channel)
