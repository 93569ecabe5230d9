"""A merge and a concurrent edit of either customer, with real threads on PostgreSQL: the merge locks both rows
(in id order) before it reads them, so the edit waits; with the locks turned off (the negative control,
``privacy.merge.LOCK_ROWS``) the race shows: the edit is lost."""

import threading
import time

import pytest
from django.db import connection

from customers.models import Customer
from customers.services import customer_update
from dealercrm.core.exceptions import StateConflict
from privacy import merge
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")


def race(monkeypatch, *, locks: bool, edit):
    """Run ``customers_merge`` in one thread and ``edit()`` in another, the edit starting while the merge holds
    (or, without locks, has only read) both customers. Returns what happened to each."""
    monkeypatch.setattr(merge, "LOCK_ROWS", locks)
    paused, edited = threading.Event(), threading.Event()

    def pause(survivor, merged):
        paused.set()
        edited.wait(timeout=1.5)  # with the locks the edit cannot finish first: the merge goes on after this

    monkeypatch.setattr(merge, "_pause", pause)
    outcome = {}

    def do_merge(survivor_id, merged_id):
        try:
            merge.customers_merge(
                survivor=Customer.objects.get(pk=survivor_id), merged=Customer.objects.get(pk=merged_id)
            )
            outcome["merge_done"] = time.monotonic()
        except Exception as exc:
            outcome["merge_error"] = exc
        finally:
            connection.close()

    def do_edit():
        try:
            assert paused.wait(timeout=10)
            outcome["edit"] = edit()
        except Exception as exc:
            outcome["edit_error"] = exc
        finally:
            outcome["edit_done"] = time.monotonic()
            edited.set()
            connection.close()

    return outcome, do_merge, do_edit


def run(do_merge, do_edit, survivor, merged):
    threads = [
        threading.Thread(target=do_merge, args=(survivor.pk, merged.pk)),
        threading.Thread(target=do_edit),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


@pytest.fixture
def pair(dealership):
    survivor = CustomerFactory(dealership=dealership, name="张伟", city="")
    merged = CustomerFactory(dealership=dealership, name="张伟", city="广州")
    return survivor, merged


@pytest.mark.parametrize("locks", [True, False], ids=["locked", "negative-control"])
def test_an_edit_of_the_survivor_during_the_merge(pair, monkeypatch, locks):
    # given a survivor without a city, merged with a customer in 广州
    survivor, merged = pair
    # when the survivor's city is edited to 北京 while the merge runs
    outcome, do_merge, do_edit = race(
        monkeypatch, locks=locks, edit=lambda: customer_update(customer=survivor, city="北京")
    )
    run(do_merge, do_edit, survivor, merged)
    assert "merge_error" not in outcome and "edit_error" not in outcome
    city = Customer.objects.get(pk=survivor.pk).city
    assert not Customer.objects.filter(pk=merged.pk).exists()
    if locks:
        # then the edit waited for the merge and was applied on top of it: nothing lost
        assert outcome["edit_done"] >= outcome["merge_done"]
        assert city == "北京"
    else:
        # negative control: the edit went through while the merge had read the survivor; the merge wrote over it
        assert outcome["edit_done"] <= outcome["merge_done"]
        assert city == "广州"


@pytest.mark.parametrize("locks", [True, False], ids=["locked", "negative-control"])
def test_an_edit_of_the_merged_customer_during_the_merge(pair, monkeypatch, locks):
    # given the customer being merged
    survivor, merged = pair
    # when their city is edited to 深圳 while the merge runs
    outcome, do_merge, do_edit = race(
        monkeypatch, locks=locks, edit=lambda: customer_update(customer=merged, city="深圳")
    )
    run(do_merge, do_edit, survivor, merged)
    assert "merge_error" not in outcome
    # the merged row never comes back
    assert not Customer.objects.filter(pk=merged.pk).exists()
    assert Customer.objects.count() == 1
    if locks:
        # then the edit waited and failed cleanly: the customer is gone (409), no write was silently dropped
        error = outcome.get("edit_error")
        assert isinstance(error, StateConflict) and error.code == "customer_gone", outcome
        assert Customer.objects.get(pk=survivor.pk).city == "广州"
    else:
        # negative control: the edit "succeeded", and what it wrote is nowhere: lost
        assert "edit_error" not in outcome and outcome["edit"].city == "深圳"
        assert not Customer.objects.filter(city="深圳").exists()


def test_two_opposite_merges_of_the_same_pair_do_not_deadlock(pair, monkeypatch):
    # given A into B and B into A started together (rows locked in id order: the second waits for the first)
    survivor, merged = pair
    first_locked, released = threading.Event(), threading.Event()

    def pause(s, m):
        if not first_locked.is_set():
            first_locked.set()
            released.wait(timeout=1)

    monkeypatch.setattr(merge, "_pause", pause)
    outcome = {}

    def do(name, keep, drop, wait_for=None):
        try:
            if wait_for is not None:
                assert wait_for.wait(timeout=10)
            merge.customers_merge(survivor=Customer.objects.get(pk=keep), merged=Customer.objects.get(pk=drop))
            outcome[name] = "merged"
        except StateConflict as exc:
            outcome[name] = exc.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=do, args=("first", survivor.pk, merged.pk)),
        threading.Thread(target=do, args=("second", merged.pk, survivor.pk, first_locked)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then the first merges, the second finds one customer gone and says so; one customer is left
    assert outcome == {"first": "merged", "second": "merge_customer_gone"}
    assert list(Customer.objects.values_list("pk", flat=True)) == [survivor.pk]
