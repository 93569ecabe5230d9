"""Phone numbers encrypted at rest (issue 13, point 1): no plain number in a column, a dump or a history row;
found by their keyed hash and last four digits; keys rotated; a wrong or missing key stops, never shows.

Given / when / then in each test; the raw checks read the tables with SQL, past the ORM's decryption.
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from customers import phones, services
from customers.importing.runner import run_import
from customers.models import Customer
from customers.selectors import counter_search
from dealercrm.core import crypto
from dealercrm.core.models import AccessEvent
from tests.factories import CustomerFactory

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "13912345678"
E164 = "+86" + NUMBER
FORMS = (NUMBER, E164, "139 1234 5678", "139-1234-5678")


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def holds_plain(text: str) -> bool:
    return any(form in text for form in FORMS) or "12345678" in text


def every_written_way(dealership, as_manager):
    """The same number written through the service (a page), the API's serializer path and the DMS import."""
    services.customer_create(dealership=dealership, acting_user=as_manager, customer_no="S1", name="甲", phone=NUMBER)
    services.customer_update(
        customer=services.customer_create(dealership=dealership, customer_no="S2", name="乙", phone="13800138000"),
        acting_user=as_manager,
        phone=E164,  # changed: a history row with the old and the new number
    )
    csv = "customer_no,name,phone,marketing_consent,consent_date\nS3,丙,139 1234 5678,yes,2024-01-01\n"
    result = run_import(dealership=dealership, files={"customers": io.BytesIO(csv.encode())}, acting_user=as_manager)
    assert not result.errors, result.errors


@pytest.mark.postgres
def test_the_columns_history_and_messages_hold_no_plain_number(dealership, as_manager):
    # Given the number written through a page's service, an edit and the DMS import
    every_written_way(dealership, as_manager)

    # When the tables are read raw
    customers = raw("SELECT phone, phone_hash, phone_last4 FROM customers_customer")
    history = raw("SELECT phone FROM customers_historicalcustomer")

    # Then every stored phone is a ciphertext, never the number; the hash is the same for equal numbers
    assert len(customers) == 3 and len(history) >= 4
    for (value,) in history + [(row[0],) for row in customers]:
        assert crypto.looks_encrypted(value) and not holds_plain(value)
    hashes = {row[1] for row in customers}
    assert len(hashes) == 1 and phones.hash_of(E164) in hashes  # three customers, one number
    assert {row[2] for row in customers} == {"5678"}
    # and the ORM reads the number back
    assert {str(c.phone) for c in Customer.objects.all()} == {E164}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_dump_holds_no_plain_number(dealership, as_manager):
    # Given the number written every way (committed: the dump sees only committed rows)
    every_written_way(dealership, as_manager)
    db = settings.DATABASES["default"]

    # When the database is dumped as a backup would be
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            db["HOST"] or "127.0.0.1",
            "-p",
            str(db["PORT"] or 5432),
            "-U",
            db["USER"],
            db["NAME"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""},
    )

    # Then the dump holds the customers (the control) but not their number in any form
    assert dump.returncode == 0, dump.stderr
    assert "S1\t甲" in dump.stdout
    assert not holds_plain(dump.stdout)


def test_the_database_cannot_compare_the_encrypted_column(dealership):
    CustomerFactory(dealership=dealership, phone=E164)
    with pytest.raises(FieldError, match="encrypted"):
        list(Customer.objects.filter(phone=E164))
    with pytest.raises(FieldError, match="encrypted"):
        list(Customer.objects.filter(phone__endswith="5678"))


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        (NUMBER, {"A"}),  # the whole number: its hash
        ("+86 139-1234-5678", {"A"}),
        ("5678", {"A", "B"}),  # the last four digits: both end so
        ("45678", {"A", "B"}),
        ("345678", {"A"}),  # more of the end: only A's number ends so
        ("2345678", {"A"}),
        ("9912345678", set()),  # ends like it, but is not its end
    ],
)
def test_the_counter_finds_a_number_by_its_hash_or_its_end(dealership, other_dealership, typed, found):
    # Given two customers ending in 5678 and, in another store, the same number
    CustomerFactory(dealership=dealership, customer_no="A", phone=E164)
    CustomerFactory(dealership=dealership, customer_no="B", phone="+8613800045678")
    CustomerFactory(dealership=other_dealership, customer_no="X", phone=E164)

    # When the advisor types it
    _query, results = counter_search(dealership=dealership, q=typed)

    # Then the store's customers with that number (or end) are found, nobody else's
    assert {c.customer_no for c in results} == found


def test_the_api_finds_a_number_by_phone_and_by_search(dealership, advisor, api_client_for):
    CustomerFactory(dealership=dealership, customer_no="A", phone=E164)
    CustomerFactory(dealership=dealership, customer_no="B", phone="+8613800045678")
    api = api_client_for(advisor)
    url = reverse("api-customer-list")
    for params, found in [({"phone": NUMBER}, {"A"}), ({"phone": "5678"}, {"A", "B"}), ({"search": "2345678"}, {"A"})]:
        rows = api.get(url, params).json()["results"]
        assert {row["customer_no"] for row in rows} == found, params
        assert all("****" in row["phone"] for row in rows)  # masked in the list


def test_possible_duplicates_are_found_by_the_hash(dealership, other_dealership):
    # Given two customers with one number (typed two ways) and a third elsewhere with it
    first = services.customer_create(dealership=dealership, customer_no="A", name="甲", phone=NUMBER)
    second = services.customer_create(dealership=dealership, customer_no="B", name="乙", phone="139-1234-5678")
    other = services.customer_create(dealership=other_dealership, customer_no="A", name="甲", phone=NUMBER)

    # When the nightly job refreshes the flags
    services.customers_flag_duplicate_phones(dealership=dealership)

    # Then the two of the store are flagged, the other store's customer is not
    first.refresh_from_db()
    second.refresh_from_db()
    other.refresh_from_db()
    assert (first.flag_possible_duplicate, second.flag_possible_duplicate, other.flag_possible_duplicate) == (
        True,
        True,
        False,
    )


def test_key_rotation_re_encrypts_in_batches_and_old_keys_still_read(dealership):
    # Given customers (and their history rows) encrypted with the current key
    old_key = settings.PHONE_ENCRYPTION_KEYS[0]
    for i in range(5):
        services.customer_create(dealership=dealership, customer_no=f"R{i}", name="甲", phone=f"+861391234560{i}")
    before = dict(raw("SELECT id, phone FROM customers_customer"))
    hashes = dict(raw("SELECT id, phone_hash FROM customers_customer"))
    new_key = Fernet.generate_key().decode()

    with override_settings(PHONE_ENCRYPTION_KEYS=[new_key, old_key]):
        # When a new key goes in front: the old values still read
        assert {str(c.phone) for c in Customer.objects.all()} == {f"+861391234560{i}" for i in range(5)}
        # and the command re-encrypts them, two rows a batch
        out = io.StringIO()
        call_command("rotate_phone_keys", "--batch-size", "2", stdout=out)
        assert "customers_customer.phone: 5 of 5 re-encrypted" in out.getvalue()
        after = dict(raw("SELECT id, phone FROM customers_customer"))
        assert all(after[pk] != before[pk] and crypto.is_current(after[pk]) for pk in before)
        # a second run has nothing left to do
        out = io.StringIO()
        call_command("rotate_phone_keys", stdout=out)
        assert "customers_customer.phone: 0 of 5 re-encrypted" in out.getvalue()
        assert dict(raw("SELECT id, phone_hash FROM customers_customer")) == hashes  # lookups unchanged

    # Then the old key can be dropped: everything reads with the new one alone
    with override_settings(PHONE_ENCRYPTION_KEYS=[new_key]):
        assert {str(c.phone) for c in Customer.objects.all()} == {f"+861391234560{i}" for i in range(5)}
        history = [h.phone for h in Customer.history.all()]
        assert len(history) == 5 and all(history)
    # and the old key alone no longer reads them (the control: rotation really happened)
    with pytest.raises(ImproperlyConfigured, match="PHONE_ENCRYPTION_KEYS cannot decrypt"):
        list(Customer.objects.all())


def test_a_wrong_key_stops_a_page_instead_of_showing_ciphertext(dealership, advisor, client_for):
    customer = CustomerFactory(dealership=dealership, phone=E164)
    with override_settings(PHONE_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(ImproperlyConfigured, match="PHONE_ENCRYPTION_KEYS"):
            client_for(advisor).get(reverse("customers:detail", args=[customer.pk]))
        with pytest.raises(ImproperlyConfigured, match="PHONE_ENCRYPTION_KEYS"):
            crypto.verify_stored_keys()
    crypto.verify_stored_keys()  # the control: the right key passes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_server_does_not_start_with_a_key_that_cannot_read_the_data(dealership):
    # Given a stored number (committed) and a server started with another key
    CustomerFactory(dealership=dealership, phone=E164)
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "dealercrm.settings.production",
        "DJANGO_SECRET_KEY": "x" * 64,
        "DJANGO_ALLOWED_HOSTS": "crm.example.com",
        "DATABASE_URL": url,
        "PHONE_HASH_KEY": settings.PHONE_HASH_KEY,
    }

    def start(keys: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", "import dealercrm.wsgi"],
            cwd=ROOT,
            env={**env, "PHONE_ENCRYPTION_KEYS": keys},
            capture_output=True,
            text=True,
            timeout=120,
        )

    # When the WSGI application loads: it stops, naming the setting
    wrong = start(Fernet.generate_key().decode())
    assert wrong.returncode != 0
    assert "PHONE_ENCRYPTION_KEYS cannot decrypt a stored phone number" in wrong.stderr
    # and with the right key it starts (the control)
    right = start(",".join(settings.PHONE_ENCRYPTION_KEYS))
    assert right.returncode == 0, right.stderr


def test_a_reveal_through_the_api_is_logged_once(dealership, advisor, agent, api_client_for):
    customer = CustomerFactory(dealership=dealership, phone=E164)
    url = reverse("api-customer-detail", args=[customer.pk])
    # masked by default, for everyone
    assert api_client_for(advisor).get(url).json()["phone"] == "139****5678"
    assert not AccessEvent.objects.exists()
    # in full when asked for, by a role that may see it: one event
    assert api_client_for(advisor).get(url, {"reveal": "phone"}).json()["phone"] == E164
    event = AccessEvent.objects.get()
    assert (event.kind, event.user, event.customer_id) == ("reveal", advisor, customer.pk)
    # refused to an agent (they see their own call's number on the workbench), and nothing logged
    answer = api_client_for(agent).get(url, {"reveal": "phone"})
    assert answer.status_code == 403 and E164 not in answer.content.decode()
    assert AccessEvent.objects.count() == 1
    # the POST action too
    answer = api_client_for(advisor).post(reverse("api-customer-reveal-phone", args=[customer.pk]))
    assert answer.json() == {"phone": E164, "national": NUMBER}
    assert AccessEvent.objects.count() == 2


@pytest.mark.parametrize("number", [E164, "+8675512345678", "+8613800138000"])
def test_the_bulk_writers_columns_are_the_ones_a_save_gives(number):
    # The import and the seed store checked E.164 numbers without parsing them again: the same hash and end
    token, hash_, last4 = phones.stored_columns_e164(number)
    assert crypto.decrypt(token) == number
    assert (hash_, last4) == (phones.hash_of(number), phones.last4_of(number))
    assert phones.stored_columns(number)[1:] == (hash_, last4)
