"""The 360 page's "Show number": masked by default, revealed on purpose by the roles with ``phone.reveal``, one
access event per click (customers.reveal_views)."""

import pytest
from django.urls import reverse

from dealercrm.core.models import AccessEvent
from dealercrm.core.privacy import mask_phone
from tests.factories import CustomerFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def customer(dealership):
    return CustomerFactory(dealership=dealership, phone="+8613912345678")


def reveal_url(customer) -> str:
    return reverse("customers:phone-reveal", args=[customer.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["advisor", "cc_manager", "as_manager"])
def test_a_role_with_phone_reveal_sees_the_masked_number_and_the_button(role, request, client_for, customer):
    user = request.getfixturevalue(role)

    page = client_for(user).get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert "139****5678" in page and "13912345678" not in page and "139 1234 5678" not in page
    assert f'hx-post="{reveal_url(customer)}"' in page and 'data-testid="phone-reveal"' in page
    assert not AccessEvent.objects.exists()  # opening the page is no look at the full number


@pytest.mark.django_db
def test_show_number_answers_the_full_number_as_a_tel_link_and_logs_exactly_one_event(client_for, advisor, customer):
    client = client_for(advisor)

    response = client.post(reveal_url(customer), headers=HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="tel:13912345678"' in body and ">13912345678</a>" in body
    event = AccessEvent.objects.get()
    assert (event.kind, event.user, event.customer_id, event.customers) == ("reveal", advisor, customer.pk, 1)
    assert event.what == "360 page" and event.dealership_id == customer.dealership_id

    client.post(reveal_url(customer), headers=HTMX)  # each click is a look of its own

    assert AccessEvent.objects.filter(kind="reveal", customer_id=customer.pk).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "admin_user"])
def test_a_role_without_phone_reveal_sees_no_button_and_is_refused(role, request, client_for, customer):
    user = request.getfixturevalue(role)
    client = client_for(user)

    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    response = client.post(reveal_url(customer), headers=HTMX)

    assert mask_phone(customer.phone) in page and "phone-reveal" not in page
    assert response.status_code == 403 and b"13912345678" not in response.content
    assert not AccessEvent.objects.exists()


@pytest.mark.django_db
def test_another_dealerships_customer_is_not_found(client_for, outsider, customer):
    # given a manager of another store (phone.reveal there)
    response = client_for(outsider).post(reveal_url(customer), headers=HTMX)

    assert response.status_code == 404 and b"13912345678" not in response.content
    assert not AccessEvent.objects.exists()


@pytest.mark.django_db
def test_reading_the_number_is_only_a_post(client_for, advisor, customer):
    assert client_for(advisor).get(reveal_url(customer)).status_code == 405
    assert not AccessEvent.objects.exists()


# --- the edit form: never the full number on the page ---------------------------------------------------


def _edit_data(customer, **changes):
    data = {
        "customer_no": customer.customer_no,
        "name": customer.name,
        "phone": "",
        "gender": customer.gender,
        "city": customer.city,
        "preferred_channel": customer.preferred_channel,
        "member_tier": customer.member_tier,
        "points": customer.points,
        "notes": "",
    }
    return {**data, **changes}


@pytest.mark.django_db
def test_the_edit_form_shows_the_number_masked_and_blank_keeps_it(dealership, customer):
    from customers.forms import CustomerForm

    unbound = CustomerForm(instance=customer, dealership=dealership)
    html = str(unbound["phone"])
    assert "13912345678" not in html and 'placeholder="139****5678"' in html

    kept = CustomerForm(data=_edit_data(customer), instance=customer, dealership=dealership)
    changed = CustomerForm(data=_edit_data(customer, phone="13700001111"), instance=customer, dealership=dealership)

    assert kept.is_valid(), kept.errors
    assert str(kept.cleaned_data["phone"]) == "+8613912345678"
    assert changed.is_valid(), changed.errors
    assert str(changed.cleaned_data["phone"]) == "+8613700001111"
