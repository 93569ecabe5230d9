"""The customer list's fast read path (``customers.api.fast``) answers exactly what the serializer answered.

Every comparison is against the real ``CustomerSerializer``: the same request served with the fast path switched
off (``FastListMixin.list_plan`` → None, so ``ListModelMixin.list`` runs the serializer), byte for byte, for
customers with nulls, blanks, every choice, phones of every shape and consent given or not, in both languages,
through filters, search, ordering and cursor pages.
"""

import json
import random
from datetime import UTC, date, datetime

import pytest
from phonenumber_field.phonenumber import to_python as phone_to_python
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from customers.api import fast
from customers.api.serializers import CustomerSerializer
from customers.api.views import CustomerViewSet
from customers.models import Channel, ConsentChannel, Customer, Gender, MemberTier
from dealercrm.core import crypto
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"

#: phones as they may be stored: valid and invalid mainland mobiles, a landline, a foreign number, a number the
#: DMS wrote without +86, one with spaces, one that does not parse, and none at all
PHONES = [
    "+8613800138000",
    "+8617912345678",
    "+8619912345678",
    "+8613000000000",
    "+8675512345678",
    "+14155552671",
    "13800138000",
    "+86 138 0013 8001",
    "+86abc",
    "",
]


def choices_of(enum):
    return [value for value, _label in enum.choices] + [""]


@pytest.fixture
def varied(dealership, other_dealership):
    """Customers covering every choice (and blank), nulls and values of every column, and every phone shape."""
    genders, channels = choices_of(Gender), [value for value, _label in Channel.choices]
    tiers, consent_channels = choices_of(MemberTier), choices_of(ConsentChannel)
    count = max(len(genders), len(channels), len(tiers), len(consent_channels), len(PHONES)) + 4
    customers = []
    for i in range(count):
        consented = i % 3 != 0
        customer = CustomerFactory(
            dealership=dealership,
            customer_no=f"F{i:04d}",
            name=["张伟", 'O\'Brien "Bob"', "李娜\u2028", "王芳"][i % 4],
            gender=genders[i % len(genders)],
            preferred_channel=channels[i % len(channels)],
            member_tier=tiers[i % len(tiers)],
            consent_channel=consent_channels[i % len(consent_channels)],
            birthday=None if i % 2 else date(1980 + i, 1 + i % 12, 1 + i % 28),
            city="" if i % 5 == 0 else "深圳",
            points=[0, 1, 2_147_483_647][i % 3],
            marketing_consent=consented,
            consent_changed_at=datetime(2024, 1 + i % 12, 3, 16, 0, i, i * 1001, tzinfo=UTC) if consented else None,
            do_not_contact=i % 4 == 1,
            flag_wrong_number=i % 4 == 2,
            flag_bounced=i % 5 == 3,
            flag_possible_duplicate=i % 6 == 4,
            notes="" if i % 2 else "多行\n备注 <b>&",
        )
        customers.append(customer)
    # stored as they are, as an import or an old version of the app may have written them
    for customer, phone in zip(customers, PHONES, strict=False):
        Customer.objects.filter(pk=customer.pk).update(phone=phone)
    VehicleFactory(owner=customers[3], plate="粤B12345")
    CustomerFactory(dealership=other_dealership, customer_no="F0001")  # never listed in SZ01
    return customers


@pytest.fixture
def serializer_only(monkeypatch):
    """Serve the list through ``CustomerSerializer``, as before the fast path."""

    def serve():
        monkeypatch.setattr(fast.FastListMixin, "list_plan", lambda self: None)

    return serve


def both(client, path, serializer_only, **headers):
    fast_answer = client.get(path, **headers)
    serializer_only()
    slow_answer = client.get(path, **headers)
    return fast_answer, slow_answer


def test_the_customer_list_has_a_plan():
    """Every field of the serializer is read from a column: the list does not fall back to the serializer."""
    plan = CustomerViewSet().list_plan()
    assert plan is not None
    assert list(plan.names) == [name for name, field in CustomerSerializer().fields.items() if not field.write_only]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_page_is_byte_for_byte_the_serializers(varied, advisor, api_client_for, serializer_only, language):
    client = api_client_for(advisor)
    fast_answer, slow_answer = both(client, f"{URL}?page_size=100", serializer_only, HTTP_ACCEPT_LANGUAGE=language)
    assert fast_answer.status_code == slow_answer.status_code == 200
    assert fast_answer.content == slow_answer.content
    results = fast_answer.json()["results"]
    assert len(results) == len(varied)
    # the comparison saw what it should: labels in the language asked for, every phone shape, nulls
    gender_labels = {row["gender"]: row["gender_display"] for row in results}
    assert gender_labels["F"] == ("Female" if language == "en" else "女")
    assert gender_labels[""] == ""
    phones = {row["customer_no"]: row["phone"] for row in results}
    # masked (never in full in a list): the DMS's 13800138000 stored as E.164, then masked
    assert phones["F0000"] == phones["F0006"] == "138****8000"
    assert (phones["F0007"], phones["F0008"], phones["F0009"]) == ("138****8001", "***", None)
    assert any(row["birthday"] is None for row in results) and any(row["birthday"] for row in results)
    assert any(row["consent_changed_at"] is None for row in results)


def test_the_json_matches_the_serializer_on_its_own(varied, advisor, api_client_for):
    """The same rows as ``CustomerSerializer(many=True).data`` written by DRF's JSON renderer, in key order."""
    from rest_framework.renderers import JSONRenderer

    answer = api_client_for(advisor).get(f"{URL}?page_size=100", HTTP_ACCEPT_LANGUAGE="en")
    customers = Customer.objects.filter(dealership=varied[0].dealership).order_by("-id")
    expected = JSONRenderer().render(CustomerSerializer(customers, many=True).data)
    assert json.dumps(answer.json()["results"], ensure_ascii=False) == json.dumps(
        json.loads(expected), ensure_ascii=False
    )


@pytest.mark.parametrize(
    "query",
    [
        "?page_size=5",
        "?ordering=customer_no&page_size=4",
        "?ordering=-updated_at",
        "?search=粤B12345",
        "?search=F000",
        "?marketing_consent=true",
        "?phone=138",
        "?name=王",
        "?city=深圳&do_not_contact=false",
        "?possible_duplicate=true",
        "?dealership=SZ01",
        "?page_size=abc",
        "?ordering=no_such_field",
        "?updated_after=not-a-date",
    ],
)
def test_filters_search_ordering_and_pages_answer_as_before(varied, advisor, api_client_for, serializer_only, query):
    fast_answer, slow_answer = both(api_client_for(advisor), URL + query, serializer_only)
    assert fast_answer.status_code == slow_answer.status_code
    assert fast_answer.content == slow_answer.content


def test_following_the_cursor_pages_answers_as_before(varied, advisor, api_client_for, serializer_only):
    client = api_client_for(advisor)
    pages = {}
    for name in ("fast", "slow"):
        if name == "slow":
            serializer_only()
        path, pages[name] = f"{URL}?page_size=3&ordering=customer_no", []
        while path:
            answer = client.get(path)
            assert answer.status_code == 200
            pages[name].append(answer.content)
            path = answer.json()["next"]
        previous = answer.json()["previous"]  # and back one page
        pages[name].append(client.get(previous).content)
    assert pages["fast"] == pages["slow"]
    assert len(pages["fast"]) == -(-len(varied) // 3) + 1


def test_the_fast_path_does_not_call_the_serializer(varied, advisor, api_client_for, monkeypatch):
    def refuse(self, instance):
        raise AssertionError("the list went through CustomerSerializer")

    monkeypatch.setattr(CustomerSerializer, "to_representation", refuse)
    answer = api_client_for(advisor).get(URL)
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == len(varied)


def test_a_page_is_three_queries(varied, advisor, api_client_for, django_assert_num_queries):
    """The token with its user, the user's dealerships (read once for the request), the page's rows."""
    client = api_client_for(advisor)
    with django_assert_num_queries(3) as queries:
        assert client.get(URL).status_code == 200
    assert sum("customers_customer" in q["sql"] for q in queries.captured_queries) == 1
    with django_assert_num_queries(3):  # a filter and a search (through the vehicles) stay in the one query
        assert client.get(f"{URL}?marketing_consent=true&search=F00").status_code == 200


def test_a_serializer_the_plan_cannot_read_falls_back_to_the_serializer():
    class WithMethod(CustomerSerializer):
        shout = serializers.SerializerMethodField()

        class Meta(CustomerSerializer.Meta):
            fields = [*CustomerSerializer.Meta.fields, "shout"]

        def get_shout(self, customer):
            return customer.name.upper()

    class Overriding(CustomerSerializer):
        def to_representation(self, instance):
            return super().to_representation(instance)

    assert fast.plan_for(CustomerSerializer) is not None
    assert fast.plan_for(WithMethod) is None
    assert fast.plan_for(Overriding) is None


def test_every_mobile_prefix_is_written_as_the_serializer_writes_it():
    """``MOBILE_E164`` claims that ``str(PhoneNumber)`` of such a stored phone is the stored text: checked over
    every prefix 130 … 199 with random numbers, valid or not, against phonenumbers itself; and the customer's
    encrypted number is masked as the serializer masks it."""
    rng = random.Random(10)
    field = PhoneNumberField()
    masked = CustomerSerializer().fields["phone"]
    for prefix in range(130, 200):
        for _ in range(20):
            stored = f"+86{prefix}{rng.randrange(10**8):08d}"
            assert fast.phone(stored) == field.to_representation(phone_to_python(stored)), stored
            assert fast.masked_phone(crypto.encrypt(stored)) == masked.to_representation(phone_to_python(stored))
    for stored in PHONES[4:-1]:  # and the shapes that take the serializer's way
        assert fast.phone(stored) == field.to_representation(phone_to_python(stored)), stored
        assert fast.masked_phone(crypto.encrypt(stored)) == masked.to_representation(phone_to_python(stored))


def test_the_browsable_api_shows_the_fast_page(varied, advisor, api_client_for):
    answer = api_client_for(advisor).get(f"{URL}?format=api", HTTP_ACCEPT="text/html")
    assert answer.status_code == 200
    assert "F0003" in answer.content.decode()


class PhoneAsText(CustomerSerializer):
    phone = serializers.CharField(read_only=True)  # str(PhoneNumber): the plan must not copy the stored text


class GenderAsChoice(CustomerSerializer):
    gender = serializers.ChoiceField(choices=Gender.choices, allow_blank=True)


class BirthdayAsText(CustomerSerializer):
    birthday = serializers.DateField(format="%d/%m/%Y", allow_null=True)
    created_at = serializers.DateTimeField(format="%Y-%m-%d %H:%M", read_only=True)


@pytest.mark.parametrize("serializer_class", [CustomerSerializer, PhoneAsText, GenderAsChoice, BirthdayAsText])
def test_a_plan_writes_what_its_serializer_writes(varied, serializer_class):
    """The plan follows the serializer's declarations (the contract may change them): same JSON, any of them."""
    from rest_framework.renderers import JSONRenderer

    plan = fast.plan_for(serializer_class)
    assert plan is not None
    customers = Customer.objects.filter(dealership=varied[0].dealership).order_by("-id")
    rows = list(customers.values(*plan.values, **plan.annotations))
    written = JSONRenderer().render(fast.Rows(plan).write(rows))
    assert written == JSONRenderer().render(serializer_class(customers, many=True).data)
