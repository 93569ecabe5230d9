"""The channels' back ends: ``settings.FOLLOWUPS_CHANNELS`` names one per channel by import string.

``channel_for("sms")`` returns the configured back end (``base.Channel``); the dispatcher hands it an
``Outgoing`` message and gets a ``SendResult`` back. Back ends: ``database.DatabaseChannel`` (records only;
the default and the demo's), ``email.EmailChannel`` (Django's mail), ``sms.SmsGatewayChannel`` and
``wechat.WeChatChannel`` (HTTP).
"""

from .base import Channel, Outgoing, SendResult, channel_for

__all__ = ["Channel", "Outgoing", "SendResult", "channel_for"]
