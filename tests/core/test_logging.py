"""The logs hold no plain phone number (issue 13, point 1): ``LOGGING``'s console handler masks mainland numbers
(``dealercrm.core.logging.MaskPhoneNumbers``) in every record that reaches it, whichever logger wrote it.

The tests log through real loggers and read what the configured handler wrote (its stream swapped for a buffer),
and send a text through the SMS channel to a real HTTP server on loopback.
"""

import datetime as dt
import io
import logging

import pytest
from django.conf import settings

from dealercrm.core.logging import MaskPhoneNumbers, mask_phones
from followups import dispatcher
from followups.channels.sms import SmsGatewayChannel
from followups.models import Message
from tests.followups.factories_dispatch import Provider, customer_of, local, make_touch

NUMBER = "+8613912345678"
#: every way the number may be written
PLAIN_FORMS = ["13912345678", "139 1234 5678", "139-1234-5678", "+86 139 1234 5678", "8613912345678"]


def configured_handler() -> logging.Handler:
    """The root logger's handler from ``LOGGING`` (the one with the mask)."""
    [handler] = [h for h in logging.getLogger().handlers if any(isinstance(f, MaskPhoneNumbers) for f in h.filters)]
    return handler


@pytest.fixture
def output():
    """What the configured handler writes during the test (its stream swapped for a buffer)."""
    buffer = io.StringIO()
    handler = configured_handler()
    # swapped as an attribute: setStream() would flush the old stream, which pytest's capture may have closed
    previous, handler.stream = handler.stream, buffer
    try:
        yield buffer
    finally:
        handler.stream = previous


@pytest.fixture
def debug_level():
    """The root logger at DEBUG for the test (everything a library logs reaches the handler)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.setLevel(level)


def assert_no_plain_number(text: str, digits: str = "13912345678"):
    assert digits not in text.replace(" ", "").replace("-", "")


# --- the setting -------------------------------------------------------------------------------------------


def test_the_root_logger_writes_through_the_masking_handler_at_info():
    root = logging.getLogger()
    assert root.level == logging.INFO
    assert isinstance(configured_handler(), logging.StreamHandler)
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["mask_phones"]
    # Django's loggers have no handler of their own (that would write unmasked): they propagate to the root
    for name in ["django", "django.request", "django.server", "celery"]:
        logger = logging.getLogger(name)
        assert logger.propagate and logger.handlers == [], name


# --- real loggers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("+8613912345678", "+86139****5678"),
        ("+86 139 1234 5678", "+86139****5678"),
        ("+86-139-1234-5678", "+86139****5678"),
        ("008613912345678", "+86139****5678"),
        ("8613912345678", "86139****5678"),
        ("13912345678", "139****5678"),
        ("139 1234 5678", "139****5678"),
        ("139-1234-5678", "139****5678"),
        ("+86 755 8888 9999", "+86755****9999"),
    ],
)
def test_a_number_in_a_message_comes_out_masked(output, written, shown):
    logging.getLogger("customers.services").info("customer %s called from %s", 42, written)
    line = output.getvalue()
    assert f"customer 42 called from {shown}" in line
    assert "INFO customers.services" in line
    assert_no_plain_number(line, "".join(ch for ch in written if ch.isdigit())[-11:])


def test_numbers_in_the_message_itself_and_several_at_once(output):
    logging.getLogger("x").warning("to 13912345678, 15012345678 and +86 186 0000 1111: %d sent", 3)
    line = output.getvalue()
    assert "to 139****5678, 150****5678 and +86186****1111: 3 sent" in line


def test_other_numbers_are_left_as_they_are(output):
    logging.getLogger("x").info(
        "order 1391234567890 at 1733412345678 ms, id 12345678901, on 2026-03-10 13:45:01 from 10.13.91.23"
    )
    assert "order 1391234567890 at 1733412345678 ms, id 12345678901, on 2026-03-10 13:45:01 from 10.13.91.23" in (
        output.getvalue()
    )


def test_an_exception_text_is_masked(output):
    try:
        raise ValueError(f"no such subscriber: {NUMBER}")
    except ValueError:
        logging.getLogger("followups.dispatcher").exception("touch %s failed", 7)
    text = output.getvalue()
    assert "touch 7 failed" in text and "Traceback" in text
    assert "no such subscriber: +86139****5678" in text
    assert_no_plain_number(text)


def test_a_record_from_djangos_request_logger_is_masked(output):
    logging.getLogger("django.request").warning("Not Found: %s", "/customers/lookup/?phone=13912345678")
    text = output.getvalue()
    assert "Not Found: /customers/lookup/?phone=139****5678" in text
    assert_no_plain_number(text)


def test_mask_phones_leaves_text_without_digits_alone():
    assert mask_phones("") == ""
    assert mask_phones("王芳 called") == "王芳 called"


# --- the SMS channel, end to end ----------------------------------------------------------------------------------

DAY = dt.date(2026, 3, 10)


@pytest.fixture
def gateway(settings):
    with Provider() as provider:
        settings.FOLLOWUPS_CHANNELS = {**settings.FOLLOWUPS_CHANNELS, "sms": "followups.channels.sms.SmsGatewayChannel"}
        settings.SMS_GATEWAY_URL = provider.url
        settings.SMS_GATEWAY_KEY = "gw-key"
        settings.SMS_SIGNATURE = "别克4S店"
        settings.FOLLOWUPS_HTTP_TIMEOUT = 2
        yield provider


@pytest.mark.django_db
def test_sending_a_text_to_a_customer_logs_no_plain_number(dealership, gateway, output, debug_level):
    # Given a customer due a text, and every logger at DEBUG
    customer = customer_of(dealership, phone=NUMBER)
    touch = make_touch(customer, due_at=local(dealership, DAY, 9))

    # When the dispatcher sends it through the SMS gateway (a real HTTP server on loopback)
    counts = dispatcher.dispatch_due(now=local(dealership, DAY, 10))

    # Then the gateway got the number, and the log (which did record the request) holds it nowhere
    assert counts["sent"] == 1
    [request] = gateway.posts("/send")
    assert request["json"]["phone"] == NUMBER
    text = output.getvalue()
    assert "POST /send" in text  # the HTTP client's own log lines went through the handler
    for plain in PLAIN_FORMS:
        assert plain not in text, plain
    assert_no_plain_number(text)
    touch.refresh_from_db()
    assert touch.status == "sent"


@pytest.mark.django_db
def test_a_failing_back_end_whose_error_names_the_number_is_logged_masked(dealership, gateway, output, monkeypatch):
    # Given a back end that sends, then fails with an error naming the recipient (a bug in a back end)
    sent = SmsGatewayChannel.send

    def send_then_fail(self, message):
        sent(self, message)
        raise RuntimeError(f"cannot read the gateway's answer for {message.recipient}")

    monkeypatch.setattr(SmsGatewayChannel, "send", send_then_fail)
    # and, as a negative control, a plain handler on the dispatcher's own logger (it sees the record before the
    # configured handler masks it)
    unmasked = io.StringIO()
    control = logging.StreamHandler(unmasked)
    control.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("followups.dispatcher")
    logger.addHandler(control)
    customer = customer_of(dealership, phone=NUMBER)
    make_touch(customer, due_at=local(dealership, DAY, 9))

    # When the dispatcher sends it
    try:
        counts = dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    finally:
        logger.removeHandler(control)

    # Then the dispatcher logged the failure with its traceback; the number in it is masked
    assert counts["ambiguous"] == 1 and len(gateway.posts("/send")) == 1
    assert Message.objects.get().status == "unknown"
    text = output.getvalue()
    assert "back end failed" in text and "Traceback" in text
    assert "cannot read the gateway's answer for +86139****5678" in text
    assert_no_plain_number(text)
    # while the same record, formatted without the mask, held the number
    assert NUMBER in unmasked.getvalue()
