"""Two submissions of one invitation link at the same moment (two taps, two tabs) book once: the invitation is
read under its row lock, so the second finds it used (410); the negative control, without the lock, shows that
the harness does see the double booking."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from campaigns import invites, services
from campaigns.models import Coupon, Invitation
from customers.models import Appointment
from tests.campaigns.conftest import generate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def invitation(campaign, person, make_group, make_template, agent, frozen, monkeypatch):
    """An invitee of a group that invites by SMS, offering one coupon; booking is slowed down, so that both
    submissions read the invitation before either writes, unless it is locked."""
    person()
    make_group({}, offers=[make_template(name="¥100 工时券")], invite_channel="sms")
    generate(campaign, [agent])
    book = services.invitation_book

    def slow_book(**kwargs):
        time.sleep(0.3)
        return book(**kwargs)

    monkeypatch.setattr("campaigns.services.invitation_book", slow_book)
    return Invitation.objects.get(campaign=campaign)


def book_at_once(invitation, n=2) -> list[int]:
    barrier = threading.Barrier(n)
    answers = [None] * n
    path = reverse("invites:page", args=[invites.invite_token(invitation)])

    def submit(i):
        try:
            barrier.wait(timeout=10)
            answers[i] = Client().post(path, {"date": f"2026-12-0{i + 3}"}).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_two_submissions_at_once_book_once_and_the_other_is_told_it_was_used(invitation):
    answers = book_at_once(invitation)

    assert sorted(answers) == [200, 410], answers
    assert Appointment.objects.filter(customer=invitation.customer).count() == 1
    assert Coupon.objects.filter(customer=invitation.customer).count() == 1


def test_negative_control_without_the_lock_both_submissions_book(invitation, monkeypatch):
    read = invites.invitation_from_token
    monkeypatch.setattr(
        "campaigns.invites.invitation_from_token", lambda token, **kwargs: read(token, now=kwargs.get("now"))
    )

    answers = book_at_once(invitation)

    assert answers == [200, 200], answers
    assert Appointment.objects.filter(customer=invitation.customer).count() == 2
