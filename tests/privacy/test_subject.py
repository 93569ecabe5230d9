"""Data-subject requests: a customer's data exported (JSON, XLSX) and the customer erased on request."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
from django.db import connection
from django.urls import reverse

from campaigns.models import CallAttempt, Coupon, Invitation
from customers.contact import contactable
from customers.models import Appointment, ConsentEvent, Customer
from dealercrm.core.models import AccessEvent
from followups.models import Complaint, Message, Survey, Touch, TouchAttempt
from privacy import subject
from reports import registry
from reports.periods import Period
from reports.scope import Scope
from segmentation.models import CustomerSegment
from tests.privacy.test_subject_helpers import PHONE, full_customer

pytestmark = pytest.mark.django_db

DIGITS = PHONE.removeprefix("+86")


def events(kind):
    return list(AccessEvent.objects.filter(kind=kind))


# --- export -------------------------------------------------------------------------------------------------


def test_json_export_holds_every_section_with_the_full_phone_and_logs_one_event(
    dealership, agent, as_manager, client_for
):
    # given a customer with something of everything
    customer, parts = full_customer(dealership, agent)
    # when the manager exports their data as JSON
    response = client_for(as_manager).get(reverse("privacy:subject-export", args=[customer.pk]) + "?format=json")
    # then every section is there, with the customer's own full number
    assert response.status_code == 200
    data = json.loads(response.content)
    assert [section.key for section in subject.SECTIONS] == list(data)
    assert data["customer"][0]["phone"] == PHONE
    assert data["customer"][0]["name"] == "李秘密"
    assert {v["id"] for v in data["visits"]} == {v.pk for v in parts["visits"]}
    assert data["consent_events"][0]["note"] == "本人签字"
    assert {c["code"] for c in data["coupons"]} == {parts["redeemed"].code, parts["open_coupon"].code}
    assert len(data["invitations"]) == 2 and len(data["campaign_calls"]) == 1
    assert data["surveys"][0]["comment"].startswith("顾问小王")
    assert "nonce" not in data["surveys"][0]
    assert len(data["complaints"]) == 2 and len(data["messages"]) == 1 and len(data["followup_calls"]) == 1
    assert data["segments"][0]["id"] == parts["segment"].pk
    assert {o["customer_id"] for o in data["ownerships"]} <= {customer.pk}
    # and exactly one subject_export event names the customer and the format
    (event,) = events(AccessEvent.Kind.SUBJECT_EXPORT)
    assert (event.customer_id, event.what, event.user_id, event.customers) == (customer.pk, "json", as_manager.pk, 1)
    assert AccessEvent.objects.count() == 1


def test_xlsx_export_has_one_sheet_per_section(dealership, agent, as_manager, client_for):
    customer, parts = full_customer(dealership, agent)
    response = client_for(as_manager).get(reverse("privacy:subject-export", args=[customer.pk]) + "?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == subject.XLSX_TYPE
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == len(subject.SECTIONS)
    customer_sheet = book.worksheets[0]
    cells = [cell.value for cell in customer_sheet[2]]
    assert PHONE in cells and "李秘密" in cells
    visits_sheet = book.worksheets[[s.key for s in subject.SECTIONS].index("visits")]
    assert visits_sheet.max_row == 1 + len(parts["visits"])
    (event,) = events(AccessEvent.Kind.SUBJECT_EXPORT)
    assert event.what == "xlsx"


def test_export_refuses_an_unknown_format_and_logs_nothing(dealership, agent, as_manager, client_for):
    customer, _parts = full_customer(dealership, agent, open_items=False)
    response = client_for(as_manager).get(reverse("privacy:subject-export", args=[customer.pk]) + "?format=pdf")
    assert response.status_code == 400
    assert not AccessEvent.objects.exists()


def test_api_export_json_and_xlsx(dealership, agent, as_manager, api_client_for):
    customer, _parts = full_customer(dealership, agent, open_items=False)
    api = api_client_for(as_manager)
    url = reverse("api-privacy-customer-export", args=[customer.pk])
    response = api.get(url)
    assert response.status_code == 200
    assert json.loads(response.content)["customer"][0]["phone"] == PHONE
    response = api.get(url + "?format=xlsx")
    assert response.status_code == 200 and response["Content-Type"] == subject.XLSX_TYPE
    assert openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames
    assert [e.what for e in AccessEvent.objects.order_by("pk")] == ["json", "xlsx"]


@pytest.mark.parametrize("name", ["privacy:subject-export", "privacy:subject-erase"])
def test_pages_owner_colleague_outsider(name, dealership, agent, as_manager, advisor, outsider, client_for):
    customer, _parts = full_customer(dealership, agent, open_items=False)
    url = reverse(name, args=[customer.pk])
    assert client_for(as_manager).get(url).status_code == 200
    assert client_for(advisor).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    if name == "privacy:subject-erase":
        assert client_for(outsider).post(url, {"confirmed": "yes"}).status_code == 404
        assert client_for(advisor).post(url, {"confirmed": "yes"}).status_code == 403
    # nothing was exported to or erased by those who may not
    assert AccessEvent.objects.filter(user__in=[advisor, outsider]).count() == 0
    assert Customer.objects.get(pk=customer.pk).erased_at is None


@pytest.mark.parametrize("name", ["api-privacy-customer-export", "api-privacy-customer-erase"])
def test_api_owner_colleague_outsider(name, dealership, agent, admin_user, cc_manager, outsider, api_client_for):
    customer, _parts = full_customer(dealership, agent, open_items=False)
    url = reverse(name, args=[customer.pk])
    assert api_client_for(admin_user).get(url).status_code == 200
    assert api_client_for(cc_manager).get(url).status_code == 403
    assert api_client_for(outsider).get(url).status_code == 404
    if name == "api-privacy-customer-erase":
        assert api_client_for(outsider).post(url, {"confirm": True}, format="json").status_code == 404
        assert api_client_for(cc_manager).post(url, {"confirm": True}, format="json").status_code == 403
    assert Customer.objects.get(pk=customer.pk).erased_at is None


# --- erasure ------------------------------------------------------------------------------------------------


def test_erase_preview_says_what_is_open_and_what_will_happen(dealership, agent, as_manager, client_for):
    customer, parts = full_customer(dealership, agent)
    response = client_for(as_manager).get(reverse("privacy:subject-erase", args=[customer.pk]))
    page = response.content.decode()
    for kind in ("coupons", "appointments", "complaints", "touches", "invitations"):
        assert f'data-testid="open-{kind}" data-count="1"' in page
    assert parts["open_coupon"].code in page
    assert str(subject.WHAT_HAPPENS["coupons"]) in page
    assert 'data-testid="confirm-step"' in page
    # a preview changes nothing and logs nothing
    assert not AccessEvent.objects.exists()
    assert Coupon.objects.get(pk=parts["open_coupon"].pk).status == Coupon.Status.ISSUED


def test_erase_post_without_confirmation_only_shows_the_step(dealership, agent, as_manager, client_for):
    customer, _parts = full_customer(dealership, agent)
    response = client_for(as_manager).post(reverse("privacy:subject-erase", args=[customer.pk]))
    assert response.status_code == 200 and 'data-testid="confirm-step"' in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_erasure_anonymises_closes_and_scrubs(dealership, agent, as_manager, client_for):
    customer, parts = full_customer(dealership, agent)
    customer.city = "深圳"
    customer.save()  # one more history row with the identity
    client = client_for(as_manager)
    response = client.post(reverse("privacy:subject-erase", args=[customer.pk]), {"confirmed": "yes"})
    assert response.status_code == 302
    erased = Customer.objects.get(pk=customer.pk)
    # identity gone
    assert erased.erased_at is not None
    assert erased.name != "李秘密" and erased.phone is None
    assert (erased.phone_hash, erased.phone_last4, erased.email, erased.wechat_openid) == ("", "", "", "")
    assert (erased.birthday, erased.notes, erased.city) == (None, "", "")
    assert erased.customer_no == f"ERASED-{customer.pk}"
    # nowhere in the history either
    history = Customer.history.model.objects.filter(id=customer.pk)
    assert history.count() >= 2
    assert not history.exclude(name=erased.name).exists()
    assert not history.filter(phone__isnull=False).exists() and not history.exclude(phone_hash="").exists()
    assert not history.exclude(email="").exists() and not history.exclude(notes="").exists()
    # free text scrubbed
    message = Message.objects.get(customer=customer)
    assert (message.recipient, message.body) == ("", "")
    assert Survey.objects.get(pk=parts["survey"].pk).comment == ""
    assert not CallAttempt.objects.exclude(note="").exists()
    assert not TouchAttempt.objects.exclude(note="").exists()
    assert not Touch.objects.exclude(notes="").exists()
    assert not ConsentEvent.objects.exclude(note="").exists()
    assert not Appointment.objects.exclude(note="").exists()
    for model in (Complaint, Complaint.history.model):
        assert not model.objects.filter(summary__contains="三个小时").exists()
        assert not model.objects.filter(resolution__contains="李先生").exists()
    # what was open, closed
    assert Coupon.objects.get(pk=parts["open_coupon"].pk).status == Coupon.Status.VOID
    assert Appointment.objects.get(pk=parts["appointment"].pk).status == Appointment.Status.CANCELLED
    assert Complaint.objects.get(pk=parts["open_complaint"].pk).status == Complaint.Status.CLOSED
    pending = Touch.objects.get(pk=parts["pending_touch"].pk)
    assert (pending.status, pending.reason) == (Touch.Status.CANCELLED, "customer_erased")
    assert Invitation.objects.get(pk=parts["open_invitation"].pk).status not in Invitation.OPEN
    # kept: visits, the redeemed coupon, the done touch, the survey's scores, the segment history
    assert erased.visits.count() == 2
    assert Coupon.objects.get(pk=parts["redeemed"].pk).status == Coupon.Status.REDEEMED
    assert Touch.objects.get(pk=parts["done_touch"].pk).status == Touch.Status.DONE
    assert Survey.objects.get(pk=parts["survey"].pk).satisfaction == 4
    assert CustomerSegment.objects.filter(customer=erased).count() == 1
    assert parts["vehicle"].__class__.objects.get(pk=parts["vehicle"].pk).vin == parts["vehicle"].vin
    # exactly one erasure event, naming what was closed
    (event,) = events(AccessEvent.Kind.ERASURE)
    assert event.customer_id == customer.pk and event.user_id == as_manager.pk
    assert event.details["closed"] == {
        "coupons": [parts["open_coupon"].pk],
        "appointments": [parts["appointment"].pk],
        "complaints": [parts["open_complaint"].pk],
        "touches": [parts["pending_touch"].pk],
        "invitations": [parts["open_invitation"].pk],
    }
    assert AccessEvent.objects.count() == 1


def test_erased_customer_is_never_contactable_again(dealership, agent, as_manager):
    customer, _parts = full_customer(dealership, agent, open_items=False)
    for touch_class in ("service", "marketing"):
        for channel in ("call", "sms", "wechat", "email"):
            assert Customer.objects.filter(contactable(touch_class, channel), pk=customer.pk).exists()
    subject.customer_erase(customer=customer, acting_user=as_manager)
    for touch_class in ("service", "marketing"):
        for channel in ("call", "sms", "wechat", "email"):
            assert not Customer.objects.filter(contactable(touch_class, channel), pk=customer.pk).exists()


def test_erasing_twice_answers_409_and_logs_once(dealership, agent, as_manager, client_for, api_client_for):
    customer, _parts = full_customer(dealership, agent, open_items=False)
    url = reverse("privacy:subject-erase", args=[customer.pk])
    assert client_for(as_manager).post(url, {"confirmed": "yes"}).status_code == 302
    assert client_for(as_manager).post(url, {"confirmed": "yes"}).status_code == 409
    api_url = reverse("api-privacy-customer-erase", args=[customer.pk])
    response = api_client_for(as_manager).post(api_url, {"confirm": True}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_erased"
    assert len(events(AccessEvent.Kind.ERASURE)) == 1


def test_api_erase_preview_then_confirm(dealership, agent, as_manager, api_client_for):
    customer, parts = full_customer(dealership, agent)
    api = api_client_for(as_manager)
    url = reverse("api-privacy-customer-erase", args=[customer.pk])
    preview = api.get(url).json()
    assert {g["kind"]: g["ids"] for g in preview["open"]}["coupons"] == [parts["open_coupon"].pk]
    unconfirmed = api.post(url, {}, format="json")
    assert unconfirmed.status_code == 400 and unconfirmed.json()["code"] == "confirmation_required"
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    done = api.post(url, {"confirm": True}, format="json")
    assert done.status_code == 200
    assert done.json()["closed"]["appointments"] == [parts["appointment"].pk]
    assert done.json()["erased_at"] is not None
    assert len(events(AccessEvent.Kind.ERASURE)) == 1


def test_360_page_shows_the_erasure_and_the_actions_by_role(dealership, agent, as_manager, advisor, client_for):
    customer, _parts = full_customer(dealership, agent, open_items=False)
    url = reverse("customers:detail", args=[customer.pk])
    page = client_for(as_manager).get(url).content.decode()
    assert 'data-testid="dsr-erase"' in page and 'data-testid="dsr-export-xlsx"' in page
    assert 'data-testid="dsr-menu"' not in client_for(advisor).get(url).content.decode()
    subject.customer_erase(customer=customer, acting_user=as_manager)
    page = client_for(advisor).get(url).content.decode()
    assert 'data-testid="customer-erased"' in page
    assert "李秘密" not in page and DIGITS[-4:] not in page
    assert 'data-testid="dsr-erase"' not in client_for(as_manager).get(url).content.decode()


# --- the reports do not change ------------------------------------------------------------------------------


def _figures(dealership, user, campaign):
    scope = Scope.of(dealership, user=user)
    periods = [Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))]
    kpis = {
        kpi.code: [kpi.compute(scope, period) for period in periods]
        for kpi in registry.registered_kpis([k.code for k in registry.kpis()])
    }
    tables = {}
    for report in registry.reports():
        params = {"campaign": str(campaign.pk)} if report.params else {}
        for period in periods:
            if period.days > report.max_days:
                continue
            built = report.build(scope, period, params)
            tables[(report.slug, period)] = [
                (table.key, [{k: v for k, v in row.items() if k != "_links"} for row in table.rows], table.totals)
                for table in built
            ]
    return kpis, tables


def test_erasure_leaves_the_reports_figures_unchanged(dealership, agent, as_manager):
    # given a customer with visits, a redeemed coupon, an invitation with its outcome, completed touches, a survey
    customer, parts = full_customer(dealership, agent, open_items=False)
    kpis_before, tables_before = _figures(dealership, as_manager, parts["campaign"])
    assert kpis_before and tables_before
    assert any(f.value not in (None, 0) for figures in kpis_before.values() for f in figures)
    # when they are erased
    subject.customer_erase(customer=customer, acting_user=as_manager)
    # then every KPI and every report reads the same
    kpis_after, tables_after = _figures(dealership, as_manager, parts["campaign"])
    assert kpis_after == kpis_before
    assert tables_after == tables_before


def test_erasure_runs_in_a_fixed_number_of_queries(dealership, agent, as_manager, django_assert_max_num_queries):
    customer, _parts = full_customer(dealership, agent)
    with django_assert_max_num_queries(40):
        subject.customer_erase(customer=customer, acting_user=as_manager)
    assert connection.vendor in ("postgresql", "sqlite")


def test_erased_customer_enters_no_call_list_and_no_follow_up(dealership, agent, as_manager):
    from campaigns.targeting import eligible_customers
    from followups import planner
    from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

    # given two customers who both came in a week ago; one of them is erased
    week_ago = dealership.local_date() - dt.timedelta(days=7)
    erased, kept = CustomerFactory(dealership=dealership), CustomerFactory(dealership=dealership)
    for customer in (erased, kept):
        ServiceVisitFactory(vehicle=VehicleFactory(owner=customer), opened_on=week_ago, closed_on=week_ago)
    subject.customer_erase(customer=erased, acting_user=as_manager)
    # when the call lists are drawn and the follow-ups planned
    eligible = set(eligible_customers(dealership).values_list("pk", flat=True))
    planner.plan_all(dealerships=[dealership])
    # then the erased customer is in neither, while the other one is (the rules do run)
    assert erased.pk not in eligible and kept.pk in eligible
    assert Touch.objects.filter(customer=kept).exists()
    assert not Touch.objects.filter(customer=erased).exists()
