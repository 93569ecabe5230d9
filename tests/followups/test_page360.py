"""The follow-up cards' hand-written reads (``followups.page360``) give what their definitions in
``followups.selectors`` give: the same touches, surveys and complaints in the same order, with the same values
and assignees; complaints as the user's role may read them."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealercrm.core.roles import Role
from followups import page360, selectors
from followups.models import Complaint, Touch
from tests.factories import CustomerFactory, ServiceVisitFactory, UserFactory
from tests.followups.factories_pages import complaint_for, local, survey_for, touch_of
from tests.same_rows import rows

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 5, 4)
STATUSES = [Touch.Status.PLANNED, Touch.Status.CLAIMED, Touch.Status.DONE, Touch.Status.SKIPPED]
STATUSES += [Touch.Status.CANCELLED, Touch.Status.FAILED, Touch.Status.SENT]


@pytest.fixture
def customer(db):
    """Twenty-one touches in every state (ties on the due time, with and without an assignee), seven surveys
    (two sent at the same moment), and complaints on the visits of two advisors and on none, open and
    closed; and a neighbour whose records must never show."""
    owner = CustomerFactory()
    neighbour = CustomerFactory(dealership=owner.dealership)
    agent = UserFactory(dealerships=[owner.dealership], role=Role.AGENT, display_name="坐席小李")
    for index in range(21):
        touch_of(
            owner,
            status=STATUSES[index % len(STATUSES)],
            due_at=local(owner.dealership, DAY + dt.timedelta(days=index // 3)),
            assignee=agent if index % 2 else None,
            reason="booked" if index % 5 == 4 else "",
        )
        touch_of(neighbour, due_at=local(owner.dealership, DAY))
    for index in range(7):
        survey_for(
            owner, sent_at=local(owner.dealership, DAY - dt.timedelta(days=index // 2)), satisfaction=index % 5 + 1
        )
    survey_for(neighbour, sent_at=local(owner.dealership, DAY))
    return owner


@pytest.fixture
def advisors(customer):
    """Two advisors, each with complaints on their own visits, and complaints on no visit."""
    dealership = customer.dealership
    mine = UserFactory(dealerships=[dealership], role=Role.ADVISOR)
    theirs = UserFactory(dealerships=[dealership], role=Role.ADVISOR)
    states = [Complaint.Status.CLOSED, Complaint.Status.OPEN, Complaint.Status.RESOLVED, Complaint.Status.ACKNOWLEDGED]
    for index in range(9):
        complaint = complaint_for(
            customer, opened_at=local(dealership, DAY - dt.timedelta(days=index // 2)), status=states[index % 4]
        )
        advisor = (mine, theirs, None)[index % 3]
        if advisor is not None:
            vehicle = customer.vehicles.first()
            complaint.visit = ServiceVisitFactory(vehicle=vehicle, advisor=advisor, closed_on=None)
            complaint.save(update_fields=["visit"])
    return mine, theirs


def test_the_touches_card_gives_the_selectors_due_and_recent(customer):
    expected = selectors.customer_touches(dealership=customer.dealership, customer=customer)
    got = page360.customer_touches(dealership=customer.dealership, customer=customer)
    assert len(got["due"]) == 5 and len(got["recent"]) == 5
    assert rows(got["due"], "assignee") == rows(expected["due"], "assignee")
    assert rows(got["recent"], "assignee") == rows(expected["recent"], "assignee")
    assert [t.reason_words for t in got["recent"]] == [t.reason_words for t in expected["recent"]]
    assert any(t.reason_words for t in got["recent"])


def test_the_surveys_card_gives_the_selectors_surveys(customer):
    expected = selectors.customer_surveys(dealership=customer.dealership, customer=customer)
    got = page360.customer_surveys(dealership=customer.dealership, customer=customer)
    assert len(got) == 5 and rows(got) == rows(expected)


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AS_MANAGER, Role.AGENT, None])
def test_the_complaints_card_gives_what_the_role_may_read(customer, advisors, role):
    mine, _theirs = advisors
    user = None if role is None else mine if role == Role.ADVISOR else UserFactory(role=role)
    expected = selectors.customer_complaints(dealership=customer.dealership, customer=customer, user=user)
    got = page360.customer_complaints(dealership=customer.dealership, customer=customer, user=user)
    assert rows(got) == rows(expected)
    if role == Role.ADVISOR:  # only those on the advisor's own visits (three of the nine), open ones first
        assert len(got) == 3 and {c.visit.advisor_id for c in got} == {mine.pk}
        assert [c.status in Complaint.OPEN_STATES for c in got] == sorted(
            (c.status in Complaint.OPEN_STATES for c in got), reverse=True
        )
    else:
        assert len(got) == 5


def test_another_dealerships_records_never_show(customer, advisors):
    stranger = CustomerFactory()
    assert page360.customer_touches(dealership=stranger.dealership, customer=customer) == {"due": [], "recent": []}
    assert page360.customer_surveys(dealership=stranger.dealership, customer=customer) == []
    assert page360.customer_complaints(dealership=stranger.dealership, customer=customer) == []


def test_each_card_is_one_statement(customer, advisors):
    for read in (page360.customer_touches, page360.customer_surveys, page360.customer_complaints):
        with CaptureQueriesContext(connection) as queries:
            read(dealership=customer.dealership, customer=customer)
        assert len(queries) == 1, read.__name__
