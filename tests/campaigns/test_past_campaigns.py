"""Entering a past campaign: the campaign on its real dates, finished, with its list from a file of customer
numbers; unknown numbers listed by line and nothing imported until skipped on purpose; the vehicle found as for a
generated list; the page and the API; the audit trail."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from campaigns import past
from campaigns.models import Campaign, Invitation
from dealercrm.core.exceptions import ApplicationError
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 5)
FIELDS = {
    "code": "ac2015",
    "name": "2015 夏季空调检测",
    "kind": "seasonal",
    "starts_on": date(2015, 6, 1),
    "ends_on": date(2015, 8, 31),
    "cost": Decimal("8000.00"),
}


def csv_file(*lines, name="list.csv"):
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode("utf-8"), content_type="text/csv")


def xlsx_file(rows, name="list.xlsx"):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    return SimpleUploadedFile(name, data.getvalue())


@pytest.fixture
def people(dealership):
    """Three customers: 1001 with a GL8 bought 2013-03-01 (2–3 years old on 2015-06-01) and a 英朗 (lower id),
    1002 with one 新君越, 1003 with none."""
    a = CustomerFactory(dealership=dealership, customer_no="1001")
    VehicleFactory(owner=a, model="英朗", purchase_date=date(2014, 1, 1))
    gl8 = VehicleFactory(owner=a, model="GL8", purchase_date=date(2013, 3, 1))
    b = CustomerFactory(dealership=dealership, customer_no="1002")
    lacrosse = VehicleFactory(owner=b, model="新君越", purchase_date=date(2012, 5, 1))
    c = CustomerFactory(dealership=dealership, customer_no="1003")
    return {"a": a, "b": b, "c": c, "gl8": gl8, "lacrosse": lacrosse}


def enter(dealership, upload, **kwargs):
    return past.past_campaign_enter(
        dealership=dealership, rows=past.read_list(upload), today=TODAY, **{**FIELDS, **kwargs}
    )


def test_a_past_campaign_is_finished_on_its_dates_with_the_vehicle_its_group_chooses(dealership, people, as_manager):
    groups = [{"name": "商务车", "filters": {"models": ["GL8"], "age_band": ["2-3"]}}]
    result = enter(
        dealership,
        csv_file("客户编号,目标群组,坐席", "1001,商务车,", "1002,商务车,", "1003,其他,"),
        groups=groups,
        acting_user=as_manager,
    )
    campaign = result["campaign"]
    assert (campaign.code, campaign.status, campaign.starts_on, campaign.ends_on) == (
        "AC2015",
        Campaign.Status.FINISHED,
        date(2015, 6, 1),
        date(2015, 8, 31),
    )
    assert (result["invited"], result["skipped"], result["per_group"]) == (3, 0, {"商务车": 2, "其他": 1})
    vehicles = dict(Invitation.objects.filter(campaign=campaign).values_list("customer__customer_no", "vehicle_id"))
    # 1001: the GL8 the group's filters match, not the lower-id 英朗; 1002: no match, so their first vehicle;
    # 1003 has no vehicle at all
    assert vehicles == {"1001": people["gl8"].pk, "1002": people["lacrosse"].pk, "1003": None}
    assert list(campaign.target_groups.values_list("name", "position")) == [("商务车", 1), ("其他", 2)]
    # audited as the manager's, with how many were entered
    history = campaign.history.order_by("history_id")
    assert [(h.history_user_id, h.history_change_reason) for h in history] == [
        (as_manager.pk, "past campaign"),
        (as_manager.pk, "past campaign list: +3"),
    ]


def test_unknown_customer_numbers_are_listed_by_line_and_nothing_is_imported(dealership, people):
    upload = csv_file("customer_no", "1001", "9999", "1002", "8888")
    with pytest.raises(ApplicationError) as refused:
        enter(dealership, upload)
    assert refused.value.code == "list_unknown_customers"
    assert refused.value.extra["unknown_customers"] == [
        {"line": 3, "customer_no": "9999"},
        {"line": 5, "customer_no": "8888"},
    ]
    assert refused.value.fields == {
        "file": ["line 3: Unknown customer number 9999.", "line 5: Unknown customer number 8888."]
    }
    assert not Campaign.objects.exists() and not Invitation.objects.exists()

    # skipped on purpose: the two known ones are imported
    upload.seek(0)
    result = enter(dealership, upload, skip_unknown=True)
    assert (result["invited"], result["skipped"], result["per_group"]) == (2, 2, {"Invited": 2})


def test_a_customer_twice_or_an_unknown_agent_cannot_be_skipped(dealership, people, agent):
    upload = csv_file("客户编号,坐席", "1001,agent", "1002,nobody", "1001,agent", "7777,")
    with pytest.raises(ApplicationError) as refused:
        enter(dealership, upload, skip_unknown=True)
    assert refused.value.code == "list_invalid"
    assert refused.value.extra["lines"] == [
        {"line": 3, "message": "nobody is not an agent of this dealership."},
        {"line": 4, "message": "Customer 1001 is already on line 2."},
    ]
    assert not Campaign.objects.exists()


def test_the_file_may_be_excel_and_names_the_agent(dealership, people, agent):
    upload = xlsx_file([["客户编号", "坐席"], [1001, "agent"], [None, None], ["1002", ""]])
    result = enter(dealership, upload)
    assert result["invited"] == 2
    assert dict(Invitation.objects.values_list("customer__customer_no", "agent_id")) == {"1001": agent.pk, "1002": None}


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        (("姓名", "张三"), "list_no_customer_column"),
        (("客户编号",), "list_empty"),
    ],
)
def test_a_file_without_customers_is_refused(dealership, lines, code):
    with pytest.raises(ApplicationError) as refused:
        past.read_list(csv_file(*lines))
    assert refused.value.code == code


def test_a_campaign_not_over_yet_is_not_a_past_one(dealership, people):
    with pytest.raises(ApplicationError) as refused:
        enter(dealership, csv_file("客户编号", "1001"), ends_on=TODAY)
    assert refused.value.code == "past_campaign_not_over"
    assert not Campaign.objects.exists()


def test_the_api_enters_it_for_a_manager_only(dealership, people, api_client_for, as_manager, agent, outsider):
    url = reverse("api-campaign-past")
    data = {
        **{k: str(v) for k, v in FIELDS.items()},
        "groups": '[{"name": "商务车", "filters": {"models": ["GL8"]}}]',
    }
    refused = api_client_for(as_manager).post(
        url, {**data, "file": csv_file("客户编号", "1001", "4242")}, format="multipart"
    )
    assert refused.status_code == 400
    body = refused.json()
    assert (body["code"], body["unknown_customers"]) == (
        "list_unknown_customers",
        [{"line": 3, "customer_no": "4242"}],
    )
    created = api_client_for(as_manager).post(
        url, {**data, "skip_unknown": "true", "file": csv_file("客户编号", "1001", "4242")}, format="multipart"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["invited"], body["skipped"], body["per_group"]) == (1, 1, {"商务车": 1})
    assert (body["campaign"]["code"], body["campaign"]["status"]) == ("AC2015", "finished")
    # the code is taken now
    again = api_client_for(as_manager).post(url, {**data, "file": csv_file("客户编号", "1001")}, format="multipart")
    assert (again.status_code, again.json()["code"]) == (400, "campaign_code_taken")
    # an agent may not; another store's user does not see this store
    assert api_client_for(agent).post(url, {**data, "file": csv_file("客户编号", "1001")}).status_code == 403
    foreign = api_client_for(outsider).post(
        f"{url}?dealership={dealership.code}", {**data, "file": csv_file("客户编号", "1001")}, format="multipart"
    )
    assert foreign.status_code in (403, 404)
    assert Campaign.objects.count() == 1


def test_the_page_lists_the_lines_and_imports_nothing_until_skipped(dealership, people, client_for, as_manager, agent):
    url = reverse("campaigns:past-create")
    manager = client_for(as_manager)
    assert manager.get(url).status_code == 200
    form = {**{k: str(v) for k, v in FIELDS.items()}, "budget": "0", "description": ""}
    page = manager.post(url, {**form, "file": csv_file("客户编号", "1001", "5555")})
    assert page.status_code == 200  # a refused value is shown on the form, as Django shows an invalid one
    html = page.content.decode()
    assert 'data-unknown="5555"' in html and 'data-line="3"' in html
    assert not Campaign.objects.exists()
    done = manager.post(url, {**form, "skip_unknown": "on", "file": csv_file("客户编号", "1001", "5555")})
    campaign = Campaign.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.invitations.count() == 1
    # an agent may not (the same test client, now signed in as the agent)
    assert client_for(agent).get(url).status_code == 403
