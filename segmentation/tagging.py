"""Customer tags: the automatic ones every run sets, and staff's own.

An automatic tag is a bit of ``CustomerSegment.tags``: each tag names its bit in ``TAGS`` (a new tag
takes a new bit; a bit never moves). So tags cost no rows of their own,
change with the customer's result, and are kept in its history. Staff's own tags are ``Tag`` rows
linked by ``CustomerTag``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer
from dealercrm.core.exceptions import ApplicationError

from .models import AgeBand, CustomerTag, Tag, TagKind, Tier, ValueLayer


@dataclass(frozen=True)
class AutomaticTag:
    """An automatic tag: ``bit`` is its bit of ``CustomerSegment.tags`` in every stored row, fixed for good."""

    code: str
    bit: int
    kind: str
    label: object


#: Every automatic tag with its bit. A new tag takes a bit never used before; a bit is never reused or moved
#: (the stored segment rows and their history would change meaning). ``tests/segmentation/test_tag_bits.py``
#: pins each one.
TAGS: tuple[AutomaticTag, ...] = (
    AutomaticTag("new_energy", 0, TagKind.VEHICLE, gettext_lazy("New-energy vehicle")),
    AutomaticTag("several_vehicles", 1, TagKind.VEHICLE, gettext_lazy("Several vehicles")),
    AutomaticTag("car_5_years_plus", 2, TagKind.VEHICLE, gettext_lazy("Car 5 years or older")),
    AutomaticTag("high_value", 3, TagKind.VALUE, gettext_lazy("High value")),
    AutomaticTag("frequent", 4, TagKind.BEHAVIOUR, gettext_lazy("Comes 3 or more times a year")),
    AutomaticTag("lapsed", 5, TagKind.BEHAVIOUR, gettext_lazy("Lapsed")),
    AutomaticTag("accident_repairs", 6, TagKind.SERVICE, gettext_lazy("Accident repairs")),
    AutomaticTag("warranty_claims", 7, TagKind.SERVICE, gettext_lazy("Warranty claims")),
    AutomaticTag("insurance_paid", 8, TagKind.PAYMENT, gettext_lazy("Insurance-paid repairs")),
    AutomaticTag("prefers_wechat", 9, TagKind.PREFERENCE, gettext_lazy("Prefers WeChat")),
    AutomaticTag("no_marketing_consent", 10, TagKind.CONSENT, gettext_lazy("No marketing consent")),
    AutomaticTag("do_not_contact", 11, TagKind.CONSENT, gettext_lazy("Do not contact")),
    AutomaticTag("new_customer", 12, TagKind.LIFECYCLE, gettext_lazy("New customer (first year)")),
    AutomaticTag("birthday_this_month", 13, TagKind.LIFECYCLE, gettext_lazy("Birthday this month")),
    AutomaticTag("campaign_participant", 14, TagKind.SOURCE, gettext_lazy("Came with a campaign")),
    AutomaticTag("wrong_number", 15, TagKind.DATA_QUALITY, gettext_lazy("Wrong number")),
)
#: ``CustomerSegment.tags`` is a signed 64-bit integer: bits 0 … 62
MAX_BIT = 62


def check_bits(tags: tuple[AutomaticTag, ...]) -> None:
    """Refuse (at import) a definition where two tags share a code or a bit, or a bit does not fit the column."""
    codes = [tag.code for tag in tags]
    bits = [tag.bit for tag in tags]
    if len(set(codes)) != len(codes):
        raise ValueError(f"Two automatic tags share a code: {sorted(c for c in codes if codes.count(c) > 1)}")
    if len(set(bits)) != len(bits):
        raise ValueError(f"Two automatic tags share a bit: {sorted(b for b in bits if bits.count(b) > 1)}")
    wrong = [tag.code for tag in tags if not 0 <= tag.bit <= MAX_BIT]
    if wrong:
        raise ValueError(f"Bit out of range (0 … {MAX_BIT}) for {wrong}")


check_bits(TAGS)

# code -> (kind, label), in bit order.
AUTOMATIC_TAGS: dict[str, tuple[str, object]] = {
    tag.code: (tag.kind, tag.label) for tag in sorted(TAGS, key=lambda t: t.bit)
}
TAG_BITS = {tag.code: 1 << tag.bit for tag in TAGS}
NEW_ENERGY = {"EV", "PHEV", "EREV"}


def automatic_codes(mask: int) -> list[str]:
    """The codes of the automatic tags set in ``mask``, in their order."""
    return [code for code, bit in TAG_BITS.items() if mask & bit]


def automatic_label(code: str) -> str:
    return str(AUTOMATIC_TAGS[code][1])


def tag_mask(flags: dict[str, np.ndarray]) -> np.ndarray:
    """The ``tags`` column: per customer, the bits of the tags whose flag is set."""
    mask = None
    for code, flag in flags.items():
        bits = np.where(flag, TAG_BITS[code], 0).astype(np.int64)
        mask = bits if mask is None else mask | bits
    return mask


def automatic_flags(customers: pd.DataFrame, vehicles: pd.DataFrame, inputs, reference) -> dict[str, np.ndarray]:
    """Per automatic tag, which customers (rows of ``customers``, the classified frame) carry it."""
    ids = customers["customer_id"].to_numpy(dtype=np.int64)
    owners = inputs.vehicles[["vehicle_id", "owner_id", "fuel_type"]].merge(
        vehicles[["vehicle_id", "age_band"]], on="vehicle_id", how="left"
    )
    per_owner = (
        owners.assign(
            new_energy=owners["fuel_type"].isin(NEW_ENERGY),
            old_car=owners["age_band"] == AgeBand.OVER_5.value,
        )
        .groupby("owner_id")
        .agg(cars=("vehicle_id", "count"), new_energy=("new_energy", "any"), old=("old_car", "any"))
        .reindex(ids)
    )
    people = inputs.customers.set_index("customer_id").reindex(ids)
    ref = np.datetime64(reference, "D")
    observed = customers["observed_from"].to_numpy(dtype="datetime64[D]")
    birthday = pd.DatetimeIndex(people["birthday"].to_numpy(dtype="datetime64[D]"))
    return {
        "new_energy": per_owner["new_energy"].fillna(False).to_numpy(dtype=bool),
        "several_vehicles": per_owner["cars"].fillna(0).to_numpy() >= 2,
        "car_5_years_plus": per_owner["old"].fillna(False).to_numpy(dtype=bool),
        "high_value": customers["value_layer"].to_numpy() == ValueLayer.HIGH.value,
        "frequent": customers["tier"].to_numpy() == Tier.A.value,
        "lapsed": customers["lapsed"].to_numpy(dtype=bool),
        "accident_repairs": customers["bodywork_visits"].to_numpy() > 0,
        "warranty_claims": customers["warranty_visits"].to_numpy() > 0,
        "insurance_paid": customers["insurance_visits"].to_numpy() > 0,
        "prefers_wechat": people["preferred_channel"].to_numpy() == "wechat",
        "no_marketing_consent": people["marketing_consent"].to_numpy() == 0,
        "do_not_contact": people["do_not_contact"].to_numpy() == 1,
        "new_customer": ~np.isnat(observed) & ((ref - observed).astype("timedelta64[D]").astype(np.int64) < 365),
        "birthday_this_month": ~pd.isna(birthday) & (birthday.month == reference.month),
        "campaign_participant": customers["campaign_visits"].to_numpy() > 0,
        "wrong_number": people["flag_wrong_number"].to_numpy() == 1,
    }


# --- staff's own tags ---------------------------------------------------------------------------------


@transaction.atomic
def tag_create(*, dealership, code: str, name: str, kind: str, acting_user=None) -> Tag:
    if code in AUTOMATIC_TAGS:
        raise ApplicationError(
            _("“%(code)s” is an automatic tag, set by segmentation runs: choose another code.") % {"code": code},
            code="automatic_tag_code",
        )
    if Tag.objects.filter(dealership=dealership, code=code).exists():
        raise ApplicationError(_("A tag with code “%(code)s” exists already.") % {"code": code}, code="tag_code_taken")
    tag = Tag(dealership=dealership, code=code, name=name, kind=kind)
    tag.full_clean()
    tag.save()
    return tag


def _manual(tag: Tag, customer: Customer) -> None:
    if tag.dealership_id != customer.dealership_id:
        raise ApplicationError(_("That tag belongs to another dealership."), code="other_dealership")


@transaction.atomic
def customer_tag_add(*, customer: Customer, tag: Tag, acting_user=None) -> CustomerTag:
    _manual(tag, customer)
    link, _created = CustomerTag.objects.get_or_create(
        customer=customer, tag=tag, defaults={"added_by": acting_user if getattr(acting_user, "pk", None) else None}
    )
    return link


@transaction.atomic
def customer_tag_remove(*, customer: Customer, tag: Tag, acting_user=None) -> None:
    _manual(tag, customer)
    CustomerTag.objects.filter(customer=customer, tag=tag).delete()
