"""The import's phone check keeps a mobile number's verdict per number block (its first seven digits): the same
answer as libphonenumber itself for every number, which this test checks over every 4-digit prefix 1000–1999
with random numbers (valid blocks, invalid blocks, and the blocks split by a pattern's fifth digit)."""

import random

import phonenumbers

from customers.importing import validate


def reference(text: str):
    """What libphonenumber says, number by number: E.164, or None for a bad number."""
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def checked(text: str):
    result = validate.phone_e164(text)
    return None if isinstance(result, validate._Bad) else result


def test_every_mobile_prefix_gets_libphonenumbers_verdict():
    rng = random.Random(13)
    seen = {True: 0, False: 0}
    for prefix in range(1000, 2000):
        for _ in range(8):
            text = f"{prefix}{rng.randrange(10**7):07d}"
            assert checked(text) == reference(text), text
            seen[reference(text) is not None] += 1
    assert seen[True] > 1000 and seen[False] > 1000  # both verdicts were exercised


def test_other_shapes_take_libphonenumbers_way():
    for text in ["0755-8888 6666", "+86 138 0013 8000", "138001380001", "12345", "abc", "+14155552671", "02088886666"]:
        assert checked(text) == reference(text), text
