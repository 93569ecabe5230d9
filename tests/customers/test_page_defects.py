"""Defects of the counter's pages found by trying them (issue 10): each test failed before its fix."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import services
from tests.factories import CustomerFactory

SEARCH = reverse("customers:counter-search")


def text(response) -> str:
    return response.content.decode()


def kind_line(html: str) -> str:
    start = html.index('id="search-kind"')
    return html[start : html.index("</p>", start)]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_too_short_search_does_not_say_it_searches_by_too_short(client_for, advisor, language):
    client = client_for(advisor)
    client.cookies["django_language"] = language

    html = text(client.get(SEARCH, {"q": "12"}))

    # "Searching by: Too short…" / "按太短：…查找" read as if "too short" were a way of searching
    line = kind_line(html)
    assert 'data-kind="too_short"' in line
    assert "Searching by" not in line and "按<strong>" not in line and "查找</" not in line
    assert 'data-testid="search-too-short"' in html


def test_a_real_search_still_says_what_it_searches_by(client_for, advisor):
    html = text(client_for(advisor).get(SEARCH, {"q": "8000"}))

    assert "Searching by: <strong>End of a phone number, or part of a plate</strong>" in kind_line(html)


@pytest.fixture
def customer(dealership):
    return CustomerFactory(dealership=dealership, name="王芳", marketing_consent=False)


def consent_card(client, customer) -> str:
    html = text(client.get(reverse("customers:detail", args=[customer.pk])))
    start = html.index('id="card-consent"')
    return html[start : html.index("</section>", start)]


def test_a_customer_who_never_consented_is_not_shown_as_withdrawn(client_for, advisor, customer):
    # Given a customer imported with consent 否: one refusal, never a grant
    services.consent_record(customer=customer, granted=False, channel="dms")

    card = consent_card(client_for(advisor), customer)

    assert 'data-state="not_given"' in card and "Not given" in card
    assert "Withdrawn" not in card


def test_a_grant_then_a_refusal_is_a_withdrawal_and_the_history_says_which_is_which(client_for, advisor, customer):
    now = timezone.now()
    services.consent_record(customer=customer, granted=False, channel="dms", occurred_at=now - timedelta(days=30))
    services.consent_record(customer=customer, granted=True, channel="counter", occurred_at=now - timedelta(days=20))
    services.consent_record(customer=customer, granted=False, channel="phone", occurred_at=now - timedelta(days=10))

    card = consent_card(client_for(advisor), customer)

    state = card[card.index('id="consent-state"') :]
    assert state.split(">", 1)[0].count('data-state="withdrawn"') == 1
    # newest first: withdrawn (after the grant), granted, not given (before any grant)
    states = [part.split('"', 1)[0] for part in card.split('<td data-state="')[1:]]
    assert states == ["withdrawn", "granted", "not_given"]


def test_a_customer_who_consents_is_granted(client_for, advisor, customer):
    services.consent_record(customer=customer, granted=True, channel="counter")

    card = consent_card(client_for(advisor), customer)

    assert 'data-state="granted"' in card and "Withdrawn" not in card and "Not given" not in card
