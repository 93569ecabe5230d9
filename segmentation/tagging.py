# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""Customer tags: the automatic ones every run sets (set-based, in a few statements), and staff's own."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer
from dealercrm.core.bulk import copy_columns, copy_rows
from dealercrm.core.exceptions import ApplicationError

from .models import AgeBand, CustomerTag, Tag, TagKind, Tier, ValueLayer

# code -> (kind, label). Labels come from here (translated), not from the stored name.
AUTOMATIC_TAGS: dict[str, tuple[str, object]] = {
    "new_energy": (TagKind.VEHICLE, gettext_lazy("New-energy vehicle")),
    "several_vehicles": (TagKind.VEHICLE, gettext_lazy("Several vehicles")),
    "car_5_years_plus": (TagKind.VEHICLE, gettext_lazy("Car 5 years or older")),
    "high_value": (TagKind.VALUE, gettext_lazy("High value")),
    "frequent": (TagKind.BEHAVIOUR, gettext_lazy("Comes 3 or more times a year")),
    "lapsed": (TagKind.BEHAVIOUR, gettext_lazy("Lapsed")),
    "accident_repairs": (TagKind.SERVICE, gettext_lazy("Accident repairs")),
    "warranty_claims": (TagKind.SERVICE, gettext_lazy("Warranty claims")),
    "insurance_paid": (TagKind.PAYMENT, gettext_lazy("Insurance-paid repairs")),
    "prefers_wechat": (TagKind.PREFERENCE, gettext_lazy("Prefers WeChat")),
    "no_marketing_consent": (TagKind.CONSENT, gettext_lazy("No marketing consent")),
    "do_not_contact": (TagKind.CONSENT, gettext_lazy("Do not contact")),
    "new_customer": (TagKind.LIFECYCLE, gettext_lazy("New customer (first year)")),
    "birthday_this_month": (TagKind.LIFECYCLE, gettext_lazy("Birthday this month")),
    "campaign_participant": (TagKind.SOURCE, gettext_lazy("Came with a campaign")),
    "wrong_number": (TagKind.DATA_QUALITY, gettext_lazy("Wrong number")),
}
NEW_ENERGY = {"EV", "PHEV", "EREV"}


def tag_label(tag: Tag) -> str:
    return str(AUTOMATIC_TAGS[tag.code][1]) if tag.automatic and tag.code in AUTOMATIC_TAGS else tag.name


def automatic_tags(*, dealership) -> dict[str, int]:
    """The dealership's automatic tags (created when missing): code -> id. Two queries."""
    Tag.objects.bulk_create(
        [
            Tag(dealership=dealership, code=code, name=str(label), kind=kind, automatic=True)
            for code, (kind, label) in AUTOMATIC_TAGS.items()
        ],
        ignore_conflicts=True,
    )
    return dict(Tag.objects.filter(dealership=dealership, automatic=True).values_list("code", "id"))


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
    )
    per_owner = per_owner.reindex(ids)
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


def sync_automatic_tags(*, dealership, flags: dict[str, np.ndarray], customer_ids: np.ndarray) -> int:
    """Make the automatic tags of the dealership's customers exactly ``flags``: one staged COPY, one DELETE, one
    INSERT. Returns how many tags were added."""
    tags = automatic_tags(dealership=dealership)
    pairs_customer = np.concatenate([customer_ids[flag] for flag in flags.values()])
    pairs_tag = np.concatenate([np.full(int(flag.sum()), tags[code], dtype=np.int64) for code, flag in flags.items()])
    qn = connection.ops.quote_name
    table, tag_table = qn(CustomerTag._meta.db_table), qn(Tag._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seg_stage_tags")
        cursor.execute(
            "CREATE TEMP TABLE seg_stage_tags (customer_id bigint NOT NULL, tag_id bigint NOT NULL)"
            + (" ON COMMIT DROP" if postgres else "")
        )
    if postgres:
        copy_columns(
            connection, "seg_stage_tags", ["customer_id", "tag_id"], [pairs_customer, pairs_tag], free_text=set()
        )
    else:
        copy_rows(
            "seg_stage_tags", ["customer_id", "tag_id"], zip(pairs_customer.tolist(), pairs_tag.tolist(), strict=True)
        )
    params = {"d": dealership.pk, "now": connection.ops.adapt_datetimefield_value(timezone.now())}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""DELETE FROM {table} WHERE tag_id IN (SELECT t.id FROM {tag_table} t
                    WHERE t.dealership_id = %(d)s AND t.automatic)
                AND NOT EXISTS (SELECT 1 FROM seg_stage_tags s
                    WHERE s.customer_id = {table}.customer_id AND s.tag_id = {table}.tag_id)""",
            params,
        )
        cursor.execute(
            f"""INSERT INTO {table} (customer_id, tag_id, added_at)
                SELECT s.customer_id, s.tag_id, %(now)s FROM seg_stage_tags s
                WHERE NOT EXISTS (
                    SELECT 1 FROM {table} c WHERE c.customer_id = s.customer_id AND c.tag_id = s.tag_id)""",
            params,
        )
        added = cursor.rowcount
        if not postgres:
            cursor.execute("DROP TABLE seg_stage_tags")
    return added


# --- staff's own tags ---------------------------------------------------------------------------------


@transaction.atomic
def tag_create(*, dealership, code: str, name: str, kind: str, acting_user=None) -> Tag:
    if code in AUTOMATIC_TAGS:
        raise ApplicationError(_("“%(code)s” is an automatic tag: choose another code.") % {"code": code})
    tag = Tag(dealership=dealership, code=code, name=name, kind=kind, automatic=False)
    tag.full_clean()
    if Tag.objects.filter(dealership=dealership, code=code).exists():
        raise ApplicationError(_("A tag with code “%(code)s” exists already.") % {"code": code})
    tag.save()
    return tag


def _manual(tag: Tag, customer: Customer) -> None:
    if tag.automatic:
        raise ApplicationError(
            _("“%(tag)s” is set by segmentation runs: it cannot be added or removed by hand.") % {"tag": tag_label(tag)}
        )
    if tag.dealership_id != customer.dealership_id:
        raise ApplicationError(_("That tag belongs to another dealership."))


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
