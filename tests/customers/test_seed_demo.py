"""seed_demo: the DEMO store, one account per role, and realistic, reproducible demo data."""

import hashlib
import logging
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pandas as pd
import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from customers.demo import DEMO_CODE, DEMO_PASSWORD, DEMO_USERS, generate
from customers.models import (
    Appointment,
    ConsentEvent,
    Customer,
    MileageReading,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
    VisitType,
)
from customers.validators import plate_error, vin_error
from dealercrm.core.models import Dealership, User
from dealercrm.core.roles import Role
from tests.factories import CustomerFactory, ServiceVisitFactory

TODAY = date(2025, 6, 30)
N = 300


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--customers", str(N), "--today", TODAY.isoformat(), *args, stdout=out)
    return out.getvalue()


def demo_rows():
    """Every generated row, by natural keys (ids differ between runs), in a stable order."""
    qs = {
        "customers": Customer.objects.filter(dealership__code=DEMO_CODE)
        .order_by("customer_no")
        .values_list(
            "customer_no",
            "name",
            "phone",
            "gender",
            "birthday",
            "city",
            "preferred_channel",
            "member_tier",
            "points",
            "marketing_consent",
            "consent_changed_at",
            "consent_channel",
            "do_not_contact",
            "flag_wrong_number",
            "flag_bounced",
            "flag_possible_duplicate",
        ),
        "vehicles": Vehicle.objects.filter(dealership__code=DEMO_CODE)
        .order_by("vin")
        .values_list(
            "vin",
            "plate",
            "brand",
            "model",
            "model_year",
            "purchase_date",
            "fuel_type",
            "warranty_end",
            "mileage_km",
            "owner__customer_no",
        ),
        "ownerships": VehicleOwnership.objects.filter(vehicle__dealership__code=DEMO_CODE)
        .order_by("vehicle__vin", "started_on")
        .values_list("vehicle__vin", "customer__customer_no", "started_on", "ended_on"),
        "consent": ConsentEvent.objects.filter(customer__dealership__code=DEMO_CODE)
        .order_by("customer__customer_no", "occurred_at")
        .values_list("customer__customer_no", "granted", "occurred_at", "channel", "recorded_by__username"),
        "visits": ServiceVisit.objects.filter(dealership__code=DEMO_CODE)
        .order_by("ro_number")
        .values_list(
            "ro_number",
            "vehicle__vin",
            "customer__customer_no",
            "opened_on",
            "closed_on",
            "mileage_km",
            "visit_type",
            "labor_amount",
            "parts_amount",
            "total_amount",
            "payer",
            "advisor_name",
            "advisor__username",
            "campaign_code",
        ),
        "readings": MileageReading.objects.filter(vehicle__dealership__code=DEMO_CODE)
        .order_by("vehicle__vin", "read_on")
        .values_list("vehicle__vin", "read_on", "mileage_km", "source"),
    }
    return {name: [tuple(map(str, row)) for row in rows] for name, rows in qs.items()}


def fingerprint() -> str:
    return hashlib.sha256(repr(demo_rows()).encode()).hexdigest()


def age_band(purchased: date, on: date) -> str:
    years = on.year - purchased.year - ((on.month, on.day) < (purchased.month, purchased.day))
    return "<1" if years < 1 else "1-2" if years < 2 else "2-3" if years < 3 else "3-5" if years < 5 else "5+"


@pytest.fixture
def seeded(db):
    seed("--seed", "11")
    return Dealership.objects.get(code=DEMO_CODE)


# --- the store and its accounts -------------------------------------------------------------------


def test_seed_creates_the_demo_store_and_one_account_per_role_that_can_log_in(db, client):
    seed()

    store = Dealership.objects.get(code=DEMO_CODE)
    assert (store.name, store.city, store.plate_prefix) == ("Demo 4S 粤B", "深圳", "粤B")
    for username, role, display_name in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.display_name == display_name
        assert user.memberships.filter(dealership=store).exists()
        assert client.login(username=username, password=DEMO_PASSWORD), username
        client.logout()
    roles = {user.role for user in User.objects.filter(username__in=[u for u, _r, _n in DEMO_USERS])}
    assert roles == set(Role.values)


def test_no_demo_account_may_use_the_django_admin(seeded, client):
    # The Django admin is for the platform's operators (createsuperuser); the store's administrator has /staff/.
    admin = User.objects.get(username="admin")
    assert not admin.is_staff and not admin.is_superuser
    assert client.login(username="admin", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 302  # redirected to the admin login
    client.logout()

    assert client.login(username="advisor", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 302  # redirected to the admin login


# --- reproducibility and reruns -----------------------------------------------------------------------


def test_the_same_seed_gives_identical_data_and_another_seed_different_data(db):
    seed("--seed", "7")
    first = fingerprint()

    seed("--seed", "7", "--reset")
    assert fingerprint() == first

    seed("--seed", "8", "--reset")
    assert fingerprint() != first


def test_the_generator_is_a_pure_function_of_size_seed_and_date():
    a, b = generate(200, 5, TODAY), generate(200, 5, TODAY)
    for name in ("customers", "vehicles", "ownerships", "consent_events", "visits", "readings"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))

    other_seed = generate(200, 6, TODAY)
    assert not a.customers["name"].equals(other_seed.customers["name"])
    assert not a.vehicles["vin"].equals(other_seed.vehicles["vin"])

    later = generate(200, 5, TODAY + timedelta(days=30))
    assert later.visits["opened_on"].max() > a.visits["opened_on"].max()


def test_a_second_run_without_reset_leaves_the_data_alone(seeded):
    before = (Customer.objects.count(), Vehicle.objects.count(), ServiceVisit.objects.count())

    output = seed("--seed", "99")

    assert "already has customers" in output
    assert (Customer.objects.count(), Vehicle.objects.count(), ServiceVisit.objects.count()) == before
    assert User.objects.filter(username__in=[u for u, _r, _n in DEMO_USERS]).count() == len(DEMO_USERS)


def test_reset_replaces_demo_data_and_what_hangs_off_it(seeded):
    demo_customer = Customer.objects.filter(dealership=seeded).first()
    Appointment.objects.create(dealership=seeded, customer=demo_customer, date=TODAY)
    old_ids = set(Customer.objects.values_list("id", flat=True))

    seed("--seed", "12", "--reset")

    assert Customer.objects.filter(dealership=seeded).count() == N
    assert not Appointment.objects.exists()
    assert old_ids.isdisjoint(Customer.objects.values_list("id", flat=True)), "ids are never handed out twice"


def test_reset_spares_other_stores(seeded, dealership):
    other_visit = ServiceVisitFactory(vehicle__owner=CustomerFactory(dealership=dealership))

    seed("--seed", "12", "--reset")

    assert Customer.objects.filter(dealership=seeded).count() == N
    assert ServiceVisit.objects.filter(pk=other_visit.pk).exists()
    assert Customer.objects.filter(dealership=dealership).count() == 1
    assert Vehicle.objects.filter(dealership=dealership).count() == 1


@pytest.mark.postgres
def test_a_bulk_loaded_seed_gives_the_same_rows_and_keeps_indexes_and_foreign_keys(db, settings, caplog):
    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename LIKE 'customers_%%'")
            return {name for (name,) in cursor.fetchall()}

    seed("--seed", "7")
    ordinary, ordinary_indexes = fingerprint(), indexes()

    # When the same data is seeded again in bulk-load mode (any size counts as large here)
    settings.DMS_IMPORT_BULK_MIN_ROWS = 1
    with caplog.at_level(logging.DEBUG, logger="customers.importing.bulkload"):
        seed("--seed", "7", "--reset")
    assert "indexes dropped, triggers off: True" in caplog.text

    # Then the rows are the same, every index is back, and the foreign keys still hold
    assert fingerprint() == ordinary
    assert indexes() == ordinary_indexes
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)
    visit = ServiceVisit.objects.filter(dealership__code=DEMO_CODE).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceVisit.objects.filter(pk=visit.pk).update(vehicle_id=10**9)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres
def test_the_bulk_load_refuses_generated_rows_whose_foreign_key_points_nowhere(db):
    from customers.importing.bulkload import BulkLoad

    seed("--seed", "3")
    table = ServiceVisit._meta.db_table
    with pytest.raises(IntegrityError, match="vehicle_id"), transaction.atomic():
        bulk = BulkLoad(connection)
        bulk.start([table])
        assert bulk.triggers_off  # the CI role is a superuser
        ServiceVisit.objects.filter(pk=ServiceVisit.objects.first().pk).update(vehicle_id=10**9)
        bulk.check_foreign_keys([table])


def test_seeding_is_set_based_the_number_of_statements_does_not_grow_with_the_data(db):
    def statements(customers: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            call_command(
                "seed_demo", "--customers", str(customers), "--today", TODAY.isoformat(), "--reset", stdout=StringIO()
            )
        return len(queries)

    seed()
    small = statements(40)
    large = statements(400)

    assert ServiceVisit.objects.count() > 10 * large  # thousands of rows...
    assert large == small  # ...in the same few statements (COPY on PostgreSQL, batched inserts on SQLite)


def test_bad_options_are_refused(db):
    with pytest.raises(CommandError, match="--today"):
        call_command("seed_demo", "--today", "30/06/2025", stdout=StringIO())
    with pytest.raises(CommandError, match="--customers"):
        call_command("seed_demo", "--customers", "0", stdout=StringIO())


# --- realism -------------------------------------------------------------------------------------------


def test_every_vin_and_plate_is_valid_and_new_energy_cars_carry_eight_character_plates(seeded):
    vehicles = list(Vehicle.objects.filter(dealership=seeded))
    assert [v.vin for v in vehicles if vin_error(v.vin)] == []
    assert [v.plate for v in vehicles if plate_error(v.plate)] == []
    assert len({v.plate for v in vehicles}) == len(vehicles)
    for vehicle in vehicles:
        new_energy = vehicle.fuel_type in {"EV", "PHEV", "EREV"}
        assert len(vehicle.plate) == (8 if new_energy else 7), (vehicle.plate, vehicle.fuel_type)
    assert any(len(v.plate) == 8 for v in vehicles)
    assert sum(v.plate.startswith("粤B") for v in vehicles) > 0.9 * len(vehicles)
    models = Counter(v.model for v in vehicles if v.brand == "别克")
    assert {"新君威", "新君越", "GL8", "陆尊", "凯越", "英朗"} <= set(models)
    assert sum(models.values()) > 0.8 * len(vehicles)


def test_vehicle_ages_fall_in_every_band(seeded):
    bands = Counter(age_band(d, TODAY) for d in Vehicle.objects.values_list("purchase_date", flat=True))
    assert set(bands) == {"<1", "1-2", "2-3", "3-5", "5+"}
    assert min(bands.values()) >= 0.05 * N


def test_most_customers_have_one_vehicle_some_two_and_sold_cars_keep_their_history(seeded):
    per_customer = Counter(Vehicle.objects.filter(dealership=seeded).values_list("owner_id", flat=True))
    one = sum(1 for n in per_customer.values() if n == 1)
    assert one > 0.7 * len(per_customer)
    assert any(n == 2 for n in per_customer.values())

    open_rows = VehicleOwnership.objects.filter(vehicle__dealership=seeded, ended_on__isnull=True)
    assert open_rows.count() == Vehicle.objects.filter(dealership=seeded).count()
    assert all(row.customer_id == row.vehicle.owner_id for row in open_rows.select_related("vehicle"))

    closed = list(VehicleOwnership.objects.filter(vehicle__dealership=seeded, ended_on__isnull=False))
    assert closed, "some cars changed hands"
    for row in closed:
        current = open_rows.get(vehicle_id=row.vehicle_id)
        assert row.customer_id != current.customer_id
        assert row.ended_on == current.started_on
        visits = ServiceVisit.objects.filter(vehicle_id=row.vehicle_id)
        assert all(v.customer_id == row.customer_id for v in visits.filter(opened_on__lt=row.ended_on))
        assert all(v.customer_id == current.customer_id for v in visits.filter(opened_on__gte=row.ended_on))


def test_visits_cover_about_three_years_up_to_today_with_every_type(seeded):
    visits = ServiceVisit.objects.filter(dealership=seeded)
    dates = list(visits.values_list("opened_on", flat=True))
    assert max(dates) <= TODAY
    assert max(dates) >= TODAY - timedelta(days=7)
    assert TODAY - timedelta(days=3 * 366) <= min(dates) <= TODAY - timedelta(days=3 * 365 - 30)
    assert all(closed is None or closed >= opened for opened, closed in visits.values_list("opened_on", "closed_on"))
    types = Counter(visits.values_list("visit_type", flat=True))
    assert set(types) == set(VisitType.values)
    assert types["maintenance"] == max(types.values())
    assert 6 <= visits.count() / N <= 14


def test_amounts_are_non_negative_decimals_that_add_up_to_realistic_totals(seeded):
    maintenance = []
    for labor, parts, total, visit_type in ServiceVisit.objects.filter(dealership=seeded).values_list(
        "labor_amount", "parts_amount", "total_amount", "visit_type"
    ):
        assert isinstance(total, Decimal)
        assert total.as_tuple().exponent == -2
        assert labor >= 0 and parts >= 0
        assert total == labor + parts
        if visit_type == "maintenance":
            maintenance.append(total)
        elif visit_type == "repair":
            assert Decimal(800) <= total <= Decimal(6000)
        elif visit_type == "bodywork":
            assert Decimal(2000) <= total <= Decimal(20000)
    # a routine service costs ¥400-1,200; electric cars less, major services and a Cadillac more
    assert all(Decimal(180) <= total <= Decimal(6000) for total in maintenance)
    assert sum(Decimal(380) <= total <= Decimal(1250) for total in maintenance) > 0.7 * len(maintenance)


def test_payers_follow_the_visit_type(seeded):
    visits = ServiceVisit.objects.filter(dealership=seeded)
    assert set(visits.filter(visit_type="warranty").values_list("payer", flat=True)) == {"warranty"}
    bodywork = Counter(visits.filter(visit_type="bodywork").values_list("payer", flat=True))
    assert bodywork["insurance"] > bodywork["customer"] > 0
    # warranty claims only on cars still under warranty (young cars)
    for opened, warranty_end in visits.filter(visit_type="warranty").values_list("opened_on", "vehicle__warranty_end"):
        assert opened <= warranty_end


def test_maintenance_comes_every_five_to_seven_months_and_mileage_rises_30_to_60_km_a_day(seeded):
    by_vehicle = defaultdict(list)
    rows = ServiceVisit.objects.filter(dealership=seeded).order_by("vehicle_id", "opened_on", "ro_number")
    for vehicle_id, opened, mileage, visit_type, purchased in rows.values_list(
        "vehicle_id", "opened_on", "mileage_km", "visit_type", "vehicle__purchase_date"
    ):
        by_vehicle[vehicle_id].append((opened, mileage, visit_type, purchased))
    gaps, rates = [], []
    for visits in by_vehicle.values():
        mileages = [m for _d, m, _t, _p in visits]
        assert mileages == sorted(mileages), "odometers never go back"
        maintenance = [d for d, _m, t, _p in visits if t == "maintenance"]
        gaps += [(b - a).days for a, b in pairwise(maintenance)]
        rates += [m / (d - p).days for d, m, _t, p in visits if (d - p).days > 60]
    gaps.sort()
    rates.sort()
    assert 150 <= gaps[len(gaps) // 2] <= 230
    assert rates[len(rates) // 10] >= 25
    assert rates[len(rates) * 9 // 10] <= 70


def test_lapsed_and_unconsenting_customers_are_a_realistic_share(seeded):
    customers = Customer.objects.filter(dealership=seeded)
    last_visits = dict(
        ServiceVisit.objects.filter(dealership=seeded)
        .values("customer_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
    )
    assert len(last_visits) > 0.85 * N
    last = {
        cid: max(d for d in ServiceVisit.objects.filter(customer_id=cid).values_list("opened_on", flat=True))
        for cid in last_visits
    }
    lapsed = sum(1 for d in last.values() if (TODAY - d).days >= 183)
    assert 0.08 * N <= lapsed <= 0.35 * N
    no_consent = customers.filter(marketing_consent=False).count()
    assert 0.15 * N <= no_consent <= 0.35 * N
    assert customers.filter(do_not_contact=True).exists()
    assert customers.filter(flag_wrong_number=True).exists()


def test_consent_events_match_each_customers_consent(seeded):
    events = defaultdict(list)
    for event in ConsentEvent.objects.filter(customer__dealership=seeded).order_by("occurred_at"):
        events[event.customer_id].append(event)
    assert events
    for customer in Customer.objects.filter(dealership=seeded):
        history = events.get(customer.pk)
        if not history:
            assert (customer.marketing_consent, customer.consent_changed_at, customer.consent_channel) == (
                False,
                None,
                "",
            )
            continue
        latest = history[-1]
        assert customer.marketing_consent == latest.granted
        assert customer.consent_changed_at == latest.occurred_at
        assert customer.consent_channel == latest.channel in {"dms", "counter"}
        assert latest.occurred_at.date() < TODAY
    assert any(len(h) == 2 and not h[-1].granted for h in events.values()), "some withdrew consent"


def test_phones_are_mainland_mobiles_and_shared_ones_are_flagged_as_possible_duplicates(seeded):
    customers = list(Customer.objects.filter(dealership=seeded))
    for customer in customers:
        number = phonenumbers.parse(str(customer.phone))
        assert number.country_code == 86 and phonenumbers.is_valid_number(number)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    shared = {phone for phone, n in Counter(str(c.phone) for c in customers).items() if n > 1}
    assert shared, "some families share a phone"
    for customer in customers:
        assert customer.flag_possible_duplicate == (str(customer.phone) in shared)


def test_names_are_chinese_and_customers_have_gender_and_birthdays(seeded):
    customers = list(Customer.objects.filter(dealership=seeded))
    people = [c for c in customers if "公司" not in c.name]
    assert all(2 <= len(c.name) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in c.name) for c in people)
    assert {c.gender for c in people} == {"M", "F"}
    assert all(c.birthday and 18 <= (TODAY - c.birthday).days / 365.25 <= 80 for c in people)
    assert len({c.name for c in customers}) > 0.8 * len(customers)


def test_some_visits_carry_campaign_codes_and_the_demo_advisor_is_linked(seeded):
    visits = ServiceVisit.objects.filter(dealership=seeded)
    with_code = visits.exclude(campaign_code="").count()
    assert 0 < with_code < 0.1 * visits.count()
    advisor = User.objects.get(username="advisor")
    linked = visits.filter(advisor=advisor)
    assert linked.exists()
    assert set(linked.values_list("advisor_name", flat=True)) == {advisor.display_name}
    assert visits.exclude(advisor_name="").count() == visits.count()


def test_mileage_readings_and_vehicle_odometers_follow_the_visits(seeded):
    for vehicle in Vehicle.objects.filter(dealership=seeded).exclude(mileage_km=None)[:50]:
        last_visit = vehicle.visits.order_by("-opened_on", "-mileage_km").first()
        assert vehicle.mileage_km == last_visit.mileage_km
        readings = list(vehicle.readings.order_by("read_on"))
        assert readings and readings[-1].mileage_km == vehicle.mileage_km


def test_customers_spread_over_the_segmentation_dimensions(seeded):
    # SPEC C3: maintenance visits per 12 months (high ≥ 2.0) and the non-maintenance share of spend (high ≥ 0.5)
    # over the 730 days up to the reference date; both must split the customers, not put them all on one side.
    window_start = TODAY - timedelta(days=730)
    maintenance, spend, repair_spend = Counter(), Counter(), Counter()
    for customer_id, visit_type, total in ServiceVisit.objects.filter(
        dealership=seeded, opened_on__gt=window_start, opened_on__lte=TODAY
    ).values_list("customer_id", "visit_type", "total_amount"):
        spend[customer_id] += total
        if visit_type == "maintenance":
            maintenance[customer_id] += 1
        else:
            repair_spend[customer_id] += total
    active = list(spend)
    frequent = sum(1 for c in active if maintenance[c] / 2 >= 2)
    repairs_heavy = sum(1 for c in active if spend[c] and repair_spend[c] / spend[c] >= Decimal("0.5"))
    assert 0.2 * len(active) <= frequent <= 0.8 * len(active)
    assert 0.2 * len(active) <= repairs_heavy <= 0.85 * len(active)
    values = sorted(spend.values())
    assert values[len(values) * 9 // 10] > 3 * values[len(values) // 10], "spend varies widely"
