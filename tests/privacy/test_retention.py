"""The retention review: customers quiet for CUSTOMER_RETENTION_YEARS listed, and anonymised in bulk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import ConsentEvent, Customer
from dealercrm.core.models import AccessEvent
from followups.models import Touch
from privacy import retention
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory
from tests.followups.factories_pages import touch_of

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)
CUTOFF = dt.date(2021, 6, 15)  # five years before TODAY


def local(dealership, day, time=dt.time(0, 0)):
    return dt.datetime.combine(day, time, tzinfo=dealership.zone)


def old_customer(dealership, **fields):
    """A customer whose record was created long ago (nothing else happened with them)."""
    customer = CustomerFactory(dealership=dealership, **fields)
    Customer.objects.filter(pk=customer.pk).update(created_at=local(dealership, dt.date(2015, 1, 1)))
    return customer


def listed(dealership, today=TODAY):
    return set(retention.retention_candidates(dealership=dealership, today=today).values_list("pk", flat=True))


def test_cutoff_is_the_setting_in_years_before_today(settings):
    assert retention.cutoff_date(TODAY) == CUTOFF
    assert retention.cutoff_date(dt.date(2028, 2, 29)) == dt.date(2023, 2, 28)
    settings.CUSTOMER_RETENTION_YEARS = 2
    assert retention.cutoff_date(TODAY) == dt.date(2024, 6, 15)


def test_a_visit_on_the_cutoff_day_keeps_the_customer_one_the_day_before_does_not(dealership):
    kept, due = old_customer(dealership), old_customer(dealership)
    ServiceVisitFactory(vehicle=VehicleFactory(owner=kept), opened_on=CUTOFF, closed_on=CUTOFF)
    before = CUTOFF - dt.timedelta(days=1)
    ServiceVisitFactory(vehicle=VehicleFactory(owner=due), opened_on=before, closed_on=before)
    assert listed(dealership) == {due.pk}
    row = retention.retention_candidates(dealership=dealership, today=TODAY).get()
    assert row.last_visit_on == before


def test_a_touch_due_at_the_cutoff_keeps_the_customer_a_minute_before_does_not(dealership):
    kept, due = old_customer(dealership), old_customer(dealership)
    visit = ServiceVisitFactory(vehicle=VehicleFactory(owner=kept), opened_on=dt.date(2016, 1, 1))
    touch_of(kept, due_at=local(dealership, CUTOFF), visit=visit, status=Touch.Status.DONE)
    visit = ServiceVisitFactory(vehicle=VehicleFactory(owner=due), opened_on=dt.date(2016, 1, 1))
    touch_of(due, due_at=local(dealership, CUTOFF) - dt.timedelta(minutes=1), visit=visit, status=Touch.Status.DONE)
    assert listed(dealership) == {due.pk}


def test_a_consent_event_at_the_cutoff_keeps_the_customer_a_minute_before_does_not(dealership):
    kept, due = old_customer(dealership), old_customer(dealership)
    ConsentEvent.objects.create(customer=kept, granted=True, occurred_at=local(dealership, CUTOFF), channel="counter")
    ConsentEvent.objects.create(
        customer=due, granted=True, occurred_at=local(dealership, CUTOFF) - dt.timedelta(minutes=1), channel="counter"
    )
    assert listed(dealership) == {due.pk}


def test_a_record_created_on_the_cutoff_day_is_kept_and_the_erased_are_not_listed(dealership):
    young, due, erased = old_customer(dealership), old_customer(dealership), old_customer(dealership)
    Customer.objects.filter(pk=young.pk).update(created_at=local(dealership, CUTOFF))
    Customer.objects.filter(pk=due.pk).update(created_at=local(dealership, CUTOFF) - dt.timedelta(seconds=1))
    Customer.objects.filter(pk=erased.pk).update(erased_at=local(dealership, TODAY))
    assert listed(dealership) == {due.pk}


def test_the_setting_moves_the_boundary(dealership, settings):
    customer = old_customer(dealership)
    day = dt.date(2023, 6, 15)
    ServiceVisitFactory(vehicle=VehicleFactory(owner=customer), opened_on=day, closed_on=day)
    assert listed(dealership) == set()
    settings.CUSTOMER_RETENTION_YEARS = 3
    assert listed(dealership) == set()  # 2023-06-15 is the cut-off day itself
    settings.CUSTOMER_RETENTION_YEARS = 2
    assert listed(dealership) == {customer.pk}


def test_other_stores_customers_are_not_listed(dealership, other_dealership):
    old_customer(other_dealership)
    mine = old_customer(dealership)
    assert listed(dealership) == {mine.pk}


# --- bulk anonymisation -------------------------------------------------------------------------------------


def _quiet(dealership, n):
    customers = [old_customer(dealership, notes="老客户") for _ in range(n)]
    for customer in customers:
        visit = ServiceVisitFactory(vehicle=VehicleFactory(owner=customer), opened_on=dt.date(2016, 3, 1))
        touch_of(customer, due_at=local(dealership, dt.date(2016, 3, 8)), visit=visit, status=Touch.Status.PLANNED)
    return customers


def _queries(dealership, n, user):
    _quiet(dealership, n)
    with CaptureQueriesContext(connection) as captured:
        done = retention.retention_anonymise(dealership=dealership, acting_user=user, today=TODAY)
    assert len(done) == n
    return len(captured)


def test_bulk_anonymisation_is_set_based(dealership, other_dealership, as_manager):
    # given 3 quiet customers in one store and 30 in another: the same number of queries anonymises each lot
    few = _queries(dealership, 3, as_manager)
    many = _queries(other_dealership, 30, as_manager)
    assert few == many
    assert many <= 30  # and not one per customer


def test_bulk_anonymisation_uses_the_erasure_rule_and_logs_one_event(dealership, as_manager):
    customers = _quiet(dealership, 4)
    came_back = customers[0]
    ServiceVisitFactory(vehicle=came_back.vehicles.first(), opened_on=TODAY, closed_on=TODAY)
    done = retention.retention_anonymise(dealership=dealership, acting_user=as_manager, today=TODAY)
    assert sorted(done) == sorted(c.pk for c in customers[1:])
    for customer in Customer.objects.filter(pk__in=done):
        assert customer.erased_at and customer.phone is None and customer.notes == ""
        assert customer.customer_no == f"ERASED-{customer.pk}" and customer.do_not_contact
    assert Customer.objects.get(pk=came_back.pk).erased_at is None
    assert not Touch.objects.filter(customer_id__in=done, status=Touch.Status.PLANNED).exists()
    assert not Customer.history.model.objects.filter(id__in=done, notes="老客户").exists()
    (event,) = AccessEvent.objects.filter(kind=AccessEvent.Kind.RETENTION)
    assert event.details["count"] == 3 and sorted(event.details["ids"]) == sorted(done)
    assert event.customers == 3 and event.user_id == as_manager.pk
    assert AccessEvent.objects.count() == 1
    # nothing left to do: no second event
    assert retention.retention_anonymise(dealership=dealership, acting_user=as_manager, today=TODAY) == []
    assert AccessEvent.objects.count() == 1


def test_selected_ids_only_and_never_another_stores(dealership, other_dealership, as_manager):
    mine = _quiet(dealership, 3)
    theirs = _quiet(other_dealership, 1)
    done = retention.retention_anonymise(
        dealership=dealership, ids=[mine[0].pk, theirs[0].pk], acting_user=as_manager, today=TODAY
    )
    assert done == [mine[0].pk]
    assert Customer.objects.get(pk=theirs[0].pk).erased_at is None


# --- the page -----------------------------------------------------------------------------------------------


def test_page_lists_counts_and_paginates(dealership, as_manager, client_for):
    _quiet(dealership, 51)
    client = client_for(as_manager)
    page = client.get(reverse("privacy:retention")).content.decode()
    assert 'data-count="51"' in page
    assert page.count('data-testid="retention-customer"') == 50
    page2 = client.get(reverse("privacy:retention") + "?page=2").content.decode()
    assert page2.count('data-testid="retention-customer"') == 1


def test_page_empty_state(dealership, as_manager, client_for):
    CustomerFactory(dealership=dealership)
    page = client_for(as_manager).get(reverse("privacy:retention")).content.decode()
    assert 'data-testid="retention-empty"' in page


def test_page_confirms_how_many_then_anonymises(dealership, as_manager, client_for):
    customers = _quiet(dealership, 3)
    client = client_for(as_manager)
    url = reverse("privacy:retention")
    step = client.post(url, {"all": "1"})
    assert step.status_code == 200 and 'data-testid="confirm-step"' in step.content.decode()
    assert "3" in step.context["confirm"]["title"]
    assert not Customer.objects.filter(erased_at__isnull=False).exists()
    assert not AccessEvent.objects.exists()
    done = client.post(url, {"all": "1", "confirmed": "yes"})
    assert done.status_code == 302
    assert Customer.objects.filter(pk__in=[c.pk for c in customers], erased_at__isnull=False).count() == 3
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.RETENTION).count() == 1


def test_page_selected_customers(dealership, as_manager, client_for):
    customers = _quiet(dealership, 3)
    client = client_for(as_manager)
    url = reverse("privacy:retention")
    step = client.post(url, {"ids": [customers[1].pk]})
    assert "1" in step.context["confirm"]["title"]
    client.post(url, {"ids": [customers[1].pk], "confirmed": "yes"})
    assert list(Customer.objects.filter(erased_at__isnull=False).values_list("pk", flat=True)) == [customers[1].pk]


def test_page_owner_colleague_outsider(dealership, as_manager, cc_manager, outsider, client_for):
    customers = _quiet(dealership, 2)
    url = reverse("privacy:retention")
    assert client_for(as_manager).get(url).status_code == 200
    assert client_for(cc_manager).get(url).status_code == 403
    assert client_for(cc_manager).post(url, {"all": "1", "confirmed": "yes"}).status_code == 403
    # another store's manager sees their own (empty) review and cannot reach ours
    response = client_for(outsider).get(url)
    assert response.status_code == 200 and 'data-testid="retention-empty"' in response.content.decode()
    client_for(outsider).post(url, {"ids": [c.pk for c in customers], "confirmed": "yes"})
    assert not Customer.objects.filter(erased_at__isnull=False).exists()


# --- the API ------------------------------------------------------------------------------------------------


def test_api_list_and_anonymise(dealership, as_manager, api_client_for):
    customers = _quiet(dealership, 3)
    api = api_client_for(as_manager)
    listing = api.get(reverse("api-privacy-retention")).json()
    assert listing["count"] == 3 and {row["id"] for row in listing["results"]} == {c.pk for c in customers}
    assert all("****" in row["phone"] for row in listing["results"])
    url = reverse("api-privacy-retention-anonymise")
    unconfirmed = api.post(url, {"ids": [customers[0].pk, customers[1].pk]}, format="json")
    assert unconfirmed.status_code == 400
    assert unconfirmed.json()["code"] == "confirmation_required" and unconfirmed.json()["count"] == 2
    assert api.post(url, {}, format="json").status_code == 400
    done = api.post(url, {"ids": [customers[0].pk], "confirm": True}, format="json")
    assert done.status_code == 200 and done.json() == {"count": 1, "ids": [customers[0].pk]}
    done = api.post(url, {"all": True, "confirm": True}, format="json").json()
    assert done["count"] == 2
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.RETENTION).count() == 2


def test_api_owner_colleague_outsider(dealership, admin_user, advisor, outsider, api_client_for):
    customers = _quiet(dealership, 1)
    assert api_client_for(admin_user).get(reverse("api-privacy-retention")).status_code == 200
    assert api_client_for(advisor).get(reverse("api-privacy-retention")).status_code == 403
    url = reverse("api-privacy-retention-anonymise")
    assert api_client_for(advisor).post(url, {"all": True, "confirm": True}, format="json").status_code == 403
    assert api_client_for(outsider).get(reverse("api-privacy-retention")).json()["count"] == 0
    done = api_client_for(outsider).post(url, {"ids": [customers[0].pk], "confirm": True}, format="json")
    assert done.json()["count"] == 0
    assert Customer.objects.get(pk=customers[0].pk).erased_at is None
