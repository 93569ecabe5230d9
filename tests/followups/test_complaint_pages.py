"""Complaint pages: the list (open first, deadlines, overdue, filters, empty state), one complaint with its
timeline and actions (acknowledge, resolve, close; the irreversible ones ask first; a wrong step answers 409),
opening one from the customer 360 page; who may do what, and another dealership's user (404)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dealercrm.core.roles import Role
from followups import complaints as services
from followups.models import Complaint, Touch
from tests.followups.factories_complaints import complaint_of, visit_of


def detail(complaint):
    return reverse("followups:complaint", args=[complaint.pk])


def step(complaint, move):
    return reverse(f"followups:complaint-{move}", args=[complaint.pk])


# --- the list -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_shows_open_complaints_first_with_their_deadlines_and_overdue_marked(
    dealership, as_manager, client_for
):
    now = timezone.now()
    overdue = complaint_of(dealership, now=now - dt.timedelta(days=10), summary="漏油")
    fresh = complaint_of(dealership, now=now, summary="洗车不干净")
    done = complaint_of(dealership, now=now - dt.timedelta(days=20), summary="发票错误")
    services.complaint_acknowledge(complaint=done, acting_user=as_manager)
    services.complaint_resolve(complaint=done, resolution="已重开发票", acting_user=as_manager)
    taken_late = complaint_of(dealership, now=now - dt.timedelta(days=3))
    taken_early = complaint_of(dealership, now=now - dt.timedelta(days=4))
    for complaint in (taken_late, taken_early):
        services.complaint_acknowledge(complaint=complaint, acting_user=as_manager)

    response = client_for(as_manager).get(reverse("followups:complaints"))

    assert response.status_code == 200
    rows = list(response.context["page"])
    # open ones by their first-response deadline, acknowledged ones by their resolution deadline, then the rest
    assert rows == [overdue, fresh, taken_early, taken_late, done]
    html = response.content.decode()
    assert html.index(f'data-complaint="{overdue.pk}"') < html.index(f'data-complaint="{fresh.pk}"')
    assert 'data-overdue="true"' in html and html.count('data-testid="overdue"') == 1
    assert "漏油" in html


@pytest.mark.django_db
def test_the_list_filters_by_status_and_has_empty_states(dealership, as_manager, client_for):
    client = client_for(as_manager)
    empty = client.get(reverse("followups:complaints"))
    assert 'data-testid="complaints-empty"' in empty.content.decode()
    assert "Record a complaint" in empty.content.decode()

    complaint = complaint_of(dealership)
    only_open = client.get(reverse("followups:complaints") + "?status=open")
    none_closed = client.get(reverse("followups:complaints") + "?status=closed")

    assert list(only_open.context["page"]) == [complaint]
    assert list(none_closed.context["page"]) == []
    assert "No complaints in this state." in none_closed.content.decode()


@pytest.mark.django_db
def test_an_advisor_sees_only_the_complaints_about_their_own_visits(dealership, advisor, client_for):
    colleague = advisor.__class__.objects.create(username="advisor2", role=Role.ADVISOR)
    mine = complaint_of(dealership, advisor=advisor)
    theirs = complaint_of(dealership, advisor=colleague)
    no_visit = services.complaint_open(
        dealership=dealership, customer=mine.customer, source="counter", summary="电话没人接"
    )
    client = client_for(advisor)

    listed = client.get(reverse("followups:complaints"))

    assert list(listed.context["page"]) == [mine]
    assert client.get(detail(mine)).status_code == 200
    assert client.get(detail(theirs)).status_code == 404
    assert client.get(detail(no_visit)).status_code == 404
    assert client.post(step(mine, "acknowledge")).status_code == 403  # reading is all an advisor does


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN])
def test_every_other_role_reads_every_complaint_of_the_store(dealership, users, client_for, role):
    complaint = complaint_of(dealership)

    assert client_for(users[role]).get(detail(complaint)).status_code == 200


@pytest.mark.django_db
def test_another_dealerships_manager_finds_nothing(dealership, outsider, client_for):
    complaint = complaint_of(dealership)
    client = client_for(outsider)

    assert client.get(detail(complaint)).status_code == 404
    assert client.post(step(complaint, "acknowledge")).status_code == 404
    assert list(client.get(reverse("followups:complaints")).context["page"]) == []
    complaint.refresh_from_db()
    assert complaint.status == "open"


# --- the steps ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_acknowledges_resolves_and_closes_confirming_the_irreversible_steps(
    dealership, as_manager, client_for
):
    complaint = complaint_of(dealership)
    client = client_for(as_manager)

    page = client.get(detail(complaint)).content.decode()
    assert 'data-testid="acknowledge"' in page and 'data-testid="resolve"' not in page

    assert client.post(step(complaint, "acknowledge")).status_code == 302
    complaint.refresh_from_db()
    assert (complaint.status, complaint.owner) == ("acknowledged", as_manager)

    # resolving asks first, repeating the text; nothing changes until it is confirmed
    empty = client.post(step(complaint, "resolve"), {"resolution": "  "})
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    ask = client.post(step(complaint, "resolve"), {"resolution": "更换了刹车片，客户满意"})
    assert ask.status_code == 200 and 'data-testid="confirm-step"' in ask.content.decode()
    assert "更换了刹车片，客户满意" in ask.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == "acknowledged"
    done = client.post(step(complaint, "resolve"), {"resolution": "更换了刹车片，客户满意", "confirmed": "yes"})
    assert done.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.status, complaint.resolution) == ("resolved", "更换了刹车片，客户满意")

    assert 'data-testid="confirm-step"' in client.post(step(complaint, "close")).content.decode()
    assert client.post(step(complaint, "close"), {"confirmed": "yes"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == "closed" and complaint.closed_at is not None

    # the timeline names who did each step
    page = client.get(detail(complaint))
    entries = page.context["timeline"]
    assert [e.user for e in entries] == [None, as_manager, as_manager, as_manager]
    assert [next((c.new for c in e.changes if c.field == "status"), None) for e in entries][1:] == [
        "Acknowledged",
        "Resolved",
        "Closed",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "move", "code"),
    [
        ("open", "resolve", "complaint_not_acknowledged"),
        ("open", "close", "complaint_not_resolved"),
        ("acknowledged", "acknowledge", "complaint_not_open"),
        ("acknowledged", "close", "complaint_not_resolved"),
        ("closed", "acknowledge", "complaint_not_open"),
        ("closed", "resolve", "complaint_not_acknowledged"),
        ("closed", "close", "complaint_not_resolved"),
    ],
)
def test_a_wrong_step_answers_409_and_changes_nothing(dealership, as_manager, client_for, state, move, code):
    complaint = complaint_of(dealership)
    if state in ("acknowledged", "closed"):
        services.complaint_acknowledge(complaint=complaint, acting_user=as_manager)
    if state == "closed":
        services.complaint_resolve(complaint=complaint, resolution="处理完毕", acting_user=as_manager)
        services.complaint_close(complaint=complaint, acting_user=as_manager)
    history = complaint.history.count()

    response = client_for(as_manager).post(step(complaint, move), {"resolution": "再处理", "confirmed": "yes"})

    assert response.status_code == 409
    assert 'data-testid="refused"' in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == state and complaint.history.count() == history
    extra = {"resolution": "再处理"} if move == "resolve" else {}
    with pytest.raises(services.StateConflict) as refused:
        getattr(services, f"complaint_{move}")(complaint=complaint, acting_user=as_manager, **extra)
    assert (refused.value.status, refused.value.code) == (409, code)


# --- opening one at the counter ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_advisor_opens_a_complaint_from_the_customer_page(dealership, advisor, agent, client_for):
    visit = visit_of(dealership, advisor=advisor)
    url = reverse("followups:complaint-open", args=[visit.customer.pk])
    client = client_for(advisor)

    form = client.get(url + f"?visit={visit.pk}")
    assert form.status_code == 200 and form.context["form"].initial == {"visit": str(visit.pk)}
    refused = client.post(url, {"visit": visit.pk, "source": "counter", "summary": ""})
    assert refused.status_code == 200 and not Complaint.objects.exists()
    response = client.post(url, {"visit": visit.pk, "source": "counter", "summary": "保养后异响"})

    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(complaint)
    assert (complaint.source, complaint.visit, complaint.opened_by, complaint.summary) == (
        "counter",
        visit,
        advisor,
        "保养后异响",
    )
    assert complaint.history.get().history_user == advisor
    assert Touch.objects.get(complaint=complaint).assignee == agent


@pytest.mark.django_db
def test_a_complaint_not_about_the_advisors_visit_leads_back_to_the_customer(dealership, advisor, client_for):
    visit = visit_of(dealership)  # another advisor's visit
    url = reverse("followups:complaint-open", args=[visit.customer.pk])

    response = client_for(advisor).post(url, {"visit": visit.pk, "source": "counter", "summary": "配件缺货"})

    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[visit.customer.pk])


@pytest.mark.django_db
def test_another_dealerships_customer_or_visit_cannot_be_named(dealership, other_dealership, as_manager, client_for):
    ours = visit_of(dealership)
    theirs = visit_of(other_dealership)
    client = client_for(as_manager)

    assert client.get(reverse("followups:complaint-open", args=[theirs.customer.pk])).status_code == 404
    response = client.post(
        reverse("followups:complaint-open", args=[ours.customer.pk]),
        {"visit": theirs.pk, "source": "counter", "summary": "x"},
    )
    assert response.status_code == 200 and "visit" in response.context["form"].errors
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_the_list_reads_the_same_number_of_queries_however_many_complaints(dealership, as_manager, client_for):
    client = client_for(as_manager)
    complaint_of(dealership)
    client.get(reverse("followups:complaints"))  # warm: session, dealership
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("followups:complaints"))
    for _ in range(5):
        complaint_of(dealership)
    with CaptureQueriesContext(connection) as six:
        response = client.get(reverse("followups:complaints"))

    assert len(response.context["page"]) == 6
    assert len(six) == len(one)


@pytest.mark.django_db
def test_closing_a_complaint_cancels_its_follow_up_call_still_waiting(dealership, agent, as_manager):
    # Given a complaint whose follow-up call (planned when it opened) was never made
    complaint = complaint_of(dealership)
    call = complaint.touches.get(kind=Touch.Kind.COMPLAINT)
    assert call.status == Touch.Status.PLANNED

    # When it is acknowledged, resolved and closed
    services.complaint_acknowledge(complaint=complaint, acting_user=as_manager)
    services.complaint_resolve(complaint=complaint, resolution="已更换配件", acting_user=as_manager)
    call.refresh_from_db()
    assert call.status == Touch.Status.PLANNED  # resolving alone still leaves the customer to be told
    services.complaint_close(complaint=complaint, acting_user=as_manager)

    # Then the call leaves the agent's queue, with the reason
    call.refresh_from_db()
    assert (call.status, call.reason) == (Touch.Status.CANCELLED, "complaint_closed")
