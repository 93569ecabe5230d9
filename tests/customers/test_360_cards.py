"""The customer 360 page's cards: registered by the apps above customers, read in a fixed number of queries,
and customers never importing those apps."""

import ast
import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from customers import cards
from followups.models import Complaint, Touch
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory
from tests.followups.factories_pages import complaint_for, local, survey_for, touch_of

CUSTOMERS = Path(__file__).resolve().parents[2] / "customers"
ABOVE = {"campaigns", "followups", "reports"}
NOW = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_customers_imports_none_of_the_apps_above_it():
    # given every Python file of the customers app (its packages included)
    files = sorted(CUSTOMERS.rglob("*.py"))
    assert CUSTOMERS / "views.py" in files and CUSTOMERS / "cards.py" in files
    # then none imports campaigns, followups or reports, at the top or inside a function
    offenders = {str(path.relative_to(CUSTOMERS)): sorted(_imports(path) & ABOVE) for path in files}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_scan_sees_an_import_inside_a_function(tmp_path):
    # negative control: a late import in a function body is found too
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from campaigns import selectors\n    return selectors\n")
    assert _imports(module) & ABOVE == {"campaigns"}


def test_the_apps_register_their_cards():
    names = [card.name for card in cards.registered()]
    for name in (
        "campaigns.vip",
        "campaigns.coupons",
        "followups.touches",
        "followups.complaints",
        "followups.surveys",
    ):
        assert name in names
    touches = next(card for card in cards.registered() if card.name == "followups.touches")
    assert touches.template == "followups/360/_touches.html" and touches.action == "customer.view"


def test_a_card_the_role_may_not_see_is_neither_read_nor_shown(dealership, advisor, client_for):
    # given a card that only administrators may see, whose reading would fail
    def read(page):
        raise AssertionError("read for a role that may not see it")

    cards.register(name="test.secret", order=1, action="audit.view", template="x.html", context=read)
    try:
        customer = CustomerFactory(dealership=dealership)
        # when an advisor opens the page
        response = client_for(advisor).get(f"/customers/{customer.pk}/")
        # then it answers without the card
        assert response.status_code == 200
        assert [c.name for c in response.context["cards"]["side"]][:1] != ["test.secret"]
    finally:
        cards.unregister("test.secret")


def test_a_registered_card_is_rendered_in_its_slot(dealership, advisor, client_for, tmp_path, settings):
    # given a card of a made-up app with its own template
    folder = tmp_path / "tpl"
    (folder / "made_up").mkdir(parents=True)
    (folder / "made_up" / "_card.html").write_text(
        '<section id="card-made-up">{{ word }} {{ customer.name }}</section>'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [folder, *settings.TEMPLATES[0]["DIRS"]]}]
    cards.register(
        name="test.made_up",
        order=99,
        action="customer.view",
        template="made_up/_card.html",
        context=lambda page: {"word": f"hello {page.customer.pk}"},
        slot="main",
    )
    try:
        customer = CustomerFactory(dealership=dealership, name="李雷")
        body = client_for(advisor).get(f"/customers/{customer.pk}/").content.decode()
        assert f'<section id="card-made-up">hello {customer.pk} 李雷</section>' in body
    finally:
        cards.unregister("test.made_up")


@pytest.fixture
def busy_customer(dealership, advisor):
    """A customer with two vehicles, 14 visits, touches due and done, surveys and complaints."""
    customer = CustomerFactory(dealership=dealership, name="王芳")
    for vehicle in (VehicleFactory(owner=customer), VehicleFactory(owner=customer)):
        for i in range(7):
            ServiceVisitFactory(
                vehicle=vehicle, opened_on=dt.date(2025, 1, 5) + dt.timedelta(days=40 * i), closed_on=None
            )
    for i in range(4):
        touch_of(customer, due_at=NOW + dt.timedelta(days=i + 1), assignee=advisor)
        touch_of(customer, kind="day30", status=Touch.Status.DONE, due_at=NOW - dt.timedelta(days=i + 1))
    touch_of(
        customer,
        kind="survey",
        channel="sms",
        status=Touch.Status.CANCELLED,
        reason="complaint_open",
        due_at=NOW - dt.timedelta(days=9),
    )
    for i in range(3):
        survey_for(customer, sent_at=NOW - dt.timedelta(days=20 + i), satisfaction=2 + i, nps=5 + i)
        complaint_for(customer, opened_at=NOW - dt.timedelta(days=2 + i))
    complaint_for(customer, opened_at=NOW - dt.timedelta(days=30), status=Complaint.Status.CLOSED)
    return customer


#: user, dealership (the session comes from the cache); the customer, vehicles with their owners, consent
#: events with who recorded them, visits with their totals, appointments (``customers.page360``); coupons;
#: touches due and recent, complaints, surveys (``followups.page360``); the segment and forecasts
PAGE_QUERIES = 13


@time_machine.travel(NOW, tick=False)
def test_the_360_page_reads_in_a_fixed_number_of_queries(
    busy_customer, dealership, advisor, client_for, django_assert_num_queries
):
    client = client_for(advisor)
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(f"/customers/{busy_customer.pk}/")
    assert response.status_code == 200
    # and a customer with nothing at all costs the same
    empty = CustomerFactory(dealership=dealership)
    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get(f"/customers/{empty.pk}/").status_code == 200


@time_machine.travel(NOW, tick=False)
def test_the_cards_show_touches_surveys_and_complaints(busy_customer, as_manager, client_for):
    response = client_for(as_manager).get(f"/customers/{busy_customer.pk}/")
    body = response.content.decode()
    # due touches soonest first, five at most; recent ones with the words of their reason
    assert body.count('data-testid="touch-due"') == 4
    assert body.count('data-testid="touch-recent"') == 5
    first_due = response.context["cards"]["side"]
    due = next(card for card in first_due if card.name == "followups.touches").context["due"][0]
    assert f'href="{reverse("followups:touch-detail", args=[due.pk])}"' in body  # a manager may open it
    assert "A complaint of the customer&#x27;s is open." in body or "A complaint of the customer's is open." in body
    # surveys with their scores; complaints open first with their deadline
    assert body.count('data-testid="survey"') == 3
    assert "Satisfaction 2/5" in body and "NPS 5/10" in body
    complaints = response.context["cards"]["side"]
    shown = next(card for card in complaints if card.name == "followups.complaints").context["complaints"]
    assert [c.status for c in shown] == ["open", "open", "open", "closed"]
    assert body.count('data-testid="complaint-deadline"') == 3


@time_machine.travel(NOW, tick=False)
def test_the_latest_ten_visits_are_shown_with_a_link_to_all(busy_customer, advisor, client_for):
    client = client_for(advisor)
    count = busy_customer.visits.count()
    assert count > 14  # the touches' and surveys' visits besides the fourteen
    body = client.get(f"/customers/{busy_customer.pk}/").content.decode()
    assert body.count('data-testid="visit"') == 10
    assert 'data-testid="visits-show-all"' in body
    assert f"Total, {count} visits" in body  # the totals are of every visit
    body = client.get(f"/customers/{busy_customer.pk}/?visits=all").content.decode()
    assert body.count('data-testid="visit"') == count
    assert 'data-testid="visits-show-all"' not in body


def test_empty_cards_say_what_comes(dealership, advisor, client_for):
    customer = CustomerFactory(dealership=dealership)
    body = client_for(advisor).get(f"/customers/{customer.pk}/").content.decode()
    for testid in ("followups-empty", "surveys-empty", "complaints-empty", "coupons-empty"):
        assert f'data-testid="{testid}"' in body


def test_another_dealerships_customer_is_404(dealership, outsider, client_for):
    customer = CustomerFactory(dealership=dealership)
    assert client_for(outsider).get(f"/customers/{customer.pk}/").status_code == 404


def test_the_counter_still_marks_arrivals_through_the_registry(dealership, advisor, client_for):
    # the counter's arrivals get their marks (invitation, open coupons) from the campaigns app's registration
    from customers import services

    customer = CustomerFactory(dealership=dealership)
    vehicle = VehicleFactory(owner=customer)
    services.appointment_create(dealership=dealership, customer=customer, vehicle=vehicle, date=dealership.local_date())
    response = client_for(advisor).get("/customers/")
    arrivals = response.context["arrivals"]
    assert len(arrivals) == 1
    assert arrivals[0].invitation is None and arrivals[0].open_coupons == []
    assert local(dealership, dt.date(2026, 1, 1)).tzinfo is not None


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_amounts_read_as_floatformat_writes_them(language):
    from decimal import Decimal

    from django.template.defaultfilters import floatformat
    from django.utils import translation

    from customers.templatetags.customer_cards import amount

    values = [Decimal("0"), Decimal("1234.505"), Decimal("-1234.5"), Decimal("999.995"), Decimal("1234567.125"), None]
    with translation.override(language):
        assert [amount(v) for v in values] == [floatformat(v, "2g") for v in values]
