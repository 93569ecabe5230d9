"""The possible duplicates of a dealership (issue 13, point 6), found set-based:

* ``phone``: the customers sharing a phone number (the same keyed hash, ``Customer.phone_hash``), one group
  per number;
* ``name_vehicle``: two customers of the same name linked to the same vehicle (one owns or owned it, the
  other owns or owned it: ``customers.VehicleOwnership`` or its current owner), unless the pair is already in
  a phone group.

Erased customers are never duplicates. ``duplicate_groups`` finds every group's ids in one query;
``groups_load`` reads the customers of one page of groups (two more queries, however many groups).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, IntegerField, Max, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce

from customers.models import Customer, ServiceVisit, Vehicle, VehicleOwnership

PHONE = "phone"
NAME_VEHICLE = "name_vehicle"


@dataclass
class DuplicateGroup:
    kind: str  # PHONE or NAME_VEHICLE
    ids: list[int]
    customers: list[Customer] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}:{'-'.join(map(str, self.ids))}"


def _sql() -> str:
    customer = Customer._meta.db_table
    vehicle = Vehicle._meta.db_table
    ownership = VehicleOwnership._meta.db_table
    # Only the models' own table names are formatted in; every value is a parameter.
    return f"""
        WITH links AS (
            SELECT o.customer_id, o.vehicle_id
              FROM {ownership} o JOIN {vehicle} v ON v.id = o.vehicle_id
             WHERE v.dealership_id = %(d)s
            UNION
            SELECT v.owner_id, v.id FROM {vehicle} v WHERE v.dealership_id = %(d)s
        ),
        phone_groups AS (
            SELECT array_agg(c.id ORDER BY c.id) AS ids
              FROM {customer} c
             WHERE c.dealership_id = %(d)s AND c.phone_hash <> '' AND c.erased_at IS NULL
             GROUP BY c.phone_hash
            HAVING count(*) > 1
        ),
        name_pairs AS (
            SELECT DISTINCT ARRAY[a.id, b.id] AS ids
              FROM {customer} a
              JOIN {customer} b ON b.dealership_id = a.dealership_id AND b.name = a.name AND b.id > a.id
              JOIN links la ON la.customer_id = a.id
              JOIN links lb ON lb.customer_id = b.id AND lb.vehicle_id = la.vehicle_id
             WHERE a.dealership_id = %(d)s AND a.name <> '' AND a.erased_at IS NULL AND b.erased_at IS NULL
               AND NOT (a.phone_hash <> '' AND a.phone_hash = b.phone_hash)
        )
        SELECT %(phone)s, ids FROM phone_groups
        UNION ALL
        SELECT %(name_vehicle)s, ids FROM name_pairs
        ORDER BY 2
    """  # noqa: S608


def duplicate_groups(*, dealership) -> list[DuplicateGroup]:
    """Every group of possible duplicates of ``dealership`` (ids only), ordered by their first customer."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(), {"d": dealership.pk, "phone": PHONE, "name_vehicle": NAME_VEHICLE})
        return [DuplicateGroup(kind=kind, ids=list(ids)) for kind, ids in cursor.fetchall()]


def duplicates_of(*, dealership, customer) -> list[DuplicateGroup]:
    """The groups ``customer`` is in."""
    return [group for group in duplicate_groups(dealership=dealership) if customer.pk in group.ids]


def customers_for_display(*, dealership):
    """The customers as the list shows them: visit count, last visit, current vehicles (prefetched)."""
    visits = ServiceVisit.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    return (
        Customer.objects.filter(dealership=dealership)
        .annotate(
            visit_count=Coalesce(Subquery(visits.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0),
            last_visit_on=Subquery(visits.annotate(last=Max("opened_on")).values("last")),
        )
        .prefetch_related(Prefetch("vehicles", queryset=Vehicle.objects.order_by("plate", "vin")))
    )


def groups_load(*, dealership, groups: list[DuplicateGroup]) -> list[DuplicateGroup]:
    """Fill each group's customers (in the group's order); a customer gone meanwhile is left out, and a
    group left with fewer than two is dropped."""
    ids = {pk for group in groups for pk in group.ids}
    by_id = {c.pk: c for c in customers_for_display(dealership=dealership).filter(pk__in=ids)} if ids else {}
    loaded = []
    for group in groups:
        group.customers = [by_id[pk] for pk in group.ids if pk in by_id]
        if len(group.customers) > 1:
            loaded.append(group)
    return loaded
