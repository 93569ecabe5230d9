"""The possible duplicates of a dealership (issue 13, point 6), found set-based:

* ``phone``: the customers sharing a phone number (the same keyed hash, ``Customer.phone_hash``), one group
  per number;
* ``name_vehicle``: two customers of the same name linked to the same vehicle (one owns or owned it, the
  other owns or owned it: ``customers.VehicleOwnership`` or its current owner), unless the pair is already in
  a phone group.

Erased customers are never duplicates. ``duplicate_groups`` finds every group's ids in three queries (through
the ORM: on SQLite as on PostgreSQL);
``groups_load`` reads the customers of one page of groups (two more queries, however many groups).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, groupby
from operator import itemgetter

from django.db.models import Count, F, IntegerField, Max, OuterRef, Prefetch, Subquery
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


def _phone_groups(customers) -> list[list[int]]:
    """The ids of each set of customers sharing a phone number (its keyed hash), one query."""
    shared = (
        customers.exclude(phone_hash="")
        .values("phone_hash")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values("phone_hash")
    )
    rows = customers.filter(phone_hash__in=shared).order_by("phone_hash", "pk").values_list("phone_hash", "pk")
    return [[pk for _hash, pk in group] for _hash, group in groupby(rows, key=itemgetter(0))]


def _name_vehicle_pairs(customers, dealership) -> list[list[int]]:
    """Pairs of customers of the same name linked to one vehicle (its owner now, or an owner in its history),
    unless they share a phone number (then they are a phone group already). Two queries: the links (owner now
    and in the history) of the vehicles that changed hands, and the customers they link."""
    changed = (
        VehicleOwnership.objects.filter(vehicle__dealership=dealership)
        .exclude(customer_id=F("vehicle__owner_id"))
        .order_by()
        .values("vehicle_id")
    )
    past = VehicleOwnership.objects.filter(vehicle_id__in=changed).order_by().values_list("vehicle_id", "customer_id")
    now = Vehicle.objects.filter(pk__in=changed).order_by().values_list("pk", "owner_id")
    rows = list(past.union(now))
    linked = past.values("customer_id").union(now.values("owner_id"))
    people = {c.pk: c for c in customers.filter(pk__in=linked).only("pk", "name", "phone_hash")}
    links: dict[int, set[int]] = {}
    for vehicle_id, customer_id in rows:
        if customer_id in people:
            links.setdefault(vehicle_id, set()).add(customer_id)
    pairs = set()
    for linked in links.values():
        for a, b in combinations(sorted(linked), 2):
            first, second = people[a], people[b]
            if (
                first.name
                and first.name == second.name
                and not (first.phone_hash and first.phone_hash == second.phone_hash)
            ):
                pairs.add((a, b))
    return [list(pair) for pair in pairs]


def duplicate_groups(*, dealership) -> list[DuplicateGroup]:
    """Every group of possible duplicates of ``dealership`` (ids only), ordered by their customers' ids."""
    customers = Customer.objects.filter(dealership=dealership, erased_at__isnull=True)
    groups = [DuplicateGroup(kind=PHONE, ids=ids) for ids in _phone_groups(customers)]
    groups += [DuplicateGroup(kind=NAME_VEHICLE, ids=ids) for ids in _name_vehicle_pairs(customers, dealership)]
    return sorted(groups, key=lambda group: group.ids)


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
