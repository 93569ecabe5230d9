"""Two managers erase the same customer at the same moment: one erasure, one event, the other told 409; and
the negative control, without the lock, shows that the harness does see the double erasure."""

import threading
import time

import pytest
from django.db import connection

from customers.models import Customer
from dealercrm.core.exceptions import StateConflict
from dealercrm.core.models import AccessEvent
from privacy import anonymise, subject
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def race(dealership, as_manager, admin_user, monkeypatch):
    """A customer, two managers, and a slower anonymisation: both erasures read the customer before either
    writes, unless the customer is locked."""
    customer = CustomerFactory(dealership=dealership)
    real = anonymise.anonymise

    def slow(**kwargs):
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr("privacy.anonymise.anonymise", slow)
    return customer, [as_manager, admin_user]


def erase_at_once(customer, users):
    barrier = threading.Barrier(len(users))
    answers = [None] * len(users)

    def erase(i):
        try:
            barrier.wait(timeout=10)
            subject.customer_erase(customer=Customer.objects.get(pk=customer.pk), acting_user=users[i])
            answers[i] = "erased"
        except StateConflict as exc:
            answers[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=erase, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_two_erasures_at_once_one_erases_and_the_other_is_refused(race):
    customer, users = race
    answers = erase_at_once(customer, users)
    assert sorted(answers) == ["already_erased", "erased"], answers
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ERASURE, customer_id=customer.pk).count() == 1


def test_negative_control_without_the_lock_both_erase(race, monkeypatch):
    customer, users = race
    monkeypatch.setattr(
        "privacy.subject._lock_customer", lambda pk: Customer.objects.select_related("dealership").get(pk=pk)
    )
    answers = erase_at_once(customer, users)
    assert answers == ["erased", "erased"], answers
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ERASURE, customer_id=customer.pk).count() == 2
