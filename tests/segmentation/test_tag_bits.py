"""Every automatic tag keeps its bit of ``CustomerSegment.tags``: the stored segment rows depend on it."""

import numpy as np
import pytest

from segmentation.tagging import TAG_BITS, TAGS, AutomaticTag, automatic_codes, check_bits, tag_mask

#: Written out by hand, once: a tag whose bit changes, or a new tag not listed here, fails the test.
PINNED = {
    "new_energy": 0,
    "several_vehicles": 1,
    "car_5_years_plus": 2,
    "high_value": 3,
    "frequent": 4,
    "lapsed": 5,
    "accident_repairs": 6,
    "warranty_claims": 7,
    "insurance_paid": 8,
    "prefers_wechat": 9,
    "no_marketing_consent": 10,
    "do_not_contact": 11,
    "new_customer": 12,
    "birthday_this_month": 13,
    "campaign_participant": 14,
    "wrong_number": 15,
}


def test_every_automatic_tag_keeps_its_pinned_bit():
    assert {tag.code: tag.bit for tag in TAGS} == PINNED
    assert {code: 1 << bit for code, bit in PINNED.items()} == TAG_BITS


def test_no_two_tags_share_a_bit_and_every_bit_fits_the_column():
    bits = [tag.bit for tag in TAGS]
    assert len(set(bits)) == len(bits)
    assert all(0 <= bit <= 62 for bit in bits)  # a signed 64-bit integer


def test_a_definition_with_two_tags_on_one_bit_is_refused():
    clash = (*TAGS, AutomaticTag("another", TAGS[0].bit, TAGS[0].kind, "x"))
    with pytest.raises(ValueError, match="share a bit"):
        check_bits(clash)
    with pytest.raises(ValueError, match="out of range"):
        check_bits((*TAGS, AutomaticTag("too_far", 63, TAGS[0].kind, "x")))


def test_a_stored_mask_reads_back_as_the_same_tags():
    # Rows stored before the bits were written out: the bit of a tag was its position in the list.
    stored = (1 << 5) | (1 << 10) | (1 << 15)
    assert automatic_codes(stored) == ["lapsed", "no_marketing_consent", "wrong_number"]

    flags = {code: np.array([code in {"lapsed", "wrong_number"}]) for code in PINNED}
    assert int(tag_mask(flags)[0]) == (1 << 5) | (1 << 15)
