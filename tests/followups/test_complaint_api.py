"""Complaints and surveys through the API: the steps and their 409s in the error contract, who may do what,
an advisor's own visits, another dealership (404), a foreign id in the body."""

import pytest

from dealercrm.core.roles import Role
from followups import complaints as services
from followups.models import Complaint, Touch
from followups.surveys import survey_answer
from tests.followups.factories_complaints import TUESDAY_10, complaint_of, survey_of, visit_of

BASE = "/api/v1/followups/complaints/"
SURVEYS = "/api/v1/followups/surveys/"


@pytest.mark.django_db
def test_a_manager_opens_and_walks_a_complaint_through_its_states(dealership, as_manager, agent, api_client_for):
    visit = visit_of(dealership)
    api = api_client_for(as_manager)

    created = api.post(BASE, {"customer": visit.customer.pk, "visit": visit.pk, "summary": "车内异味"}, format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["source"], body["visit"], body["opened_by"]) == ("open", "api", visit.pk, "asmanager")
    pk = body["id"]
    assert Touch.objects.get(complaint_id=pk).assignee == agent

    assert api.post(f"{BASE}{pk}/acknowledge/").json()["status"] == "acknowledged"
    missing = api.post(f"{BASE}{pk}/resolve/", {}, format="json")
    assert missing.status_code == 400 and "resolution" in missing.json()["fields"]
    resolved = api.post(f"{BASE}{pk}/resolve/", {"resolution": "免费清洗空调"}, format="json")
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "免费清洗空调")
    closed = api.post(f"{BASE}{pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert [row.history_user for row in Complaint.objects.get(pk=pk).history.order_by("history_id")] == [as_manager] * 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("move", "code"),
    [("resolve", "complaint_not_acknowledged"), ("close", "complaint_not_resolved")],
)
def test_a_wrong_step_answers_409_with_its_code(dealership, as_manager, api_client_for, move, code):
    complaint = complaint_of(dealership)

    response = api_client_for(as_manager).post(f"{BASE}{complaint.pk}/{move}/", {"resolution": "x"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == code and response.json()["message"]
    complaint.refresh_from_db()
    assert complaint.status == "open"


@pytest.mark.django_db
def test_acknowledging_twice_answers_409(dealership, as_manager, admin_user, api_client_for):
    complaint = complaint_of(dealership)
    services.complaint_acknowledge(complaint=complaint, acting_user=admin_user)

    response = api_client_for(as_manager).post(f"{BASE}{complaint.pk}/acknowledge/")

    assert (response.status_code, response.json()["code"]) == (409, "complaint_not_open")
    complaint.refresh_from_db()
    assert complaint.owner == admin_user


@pytest.mark.django_db
def test_the_schema_names_the_409_codes():
    from followups.complaint_api import ComplaintViewSet

    assert ComplaintViewSet.error_codes["resolve"][409] == ["complaint_not_acknowledged"]
    assert ComplaintViewSet.error_codes["close"][409] == ["complaint_not_resolved"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AGENT, Role.CC_MANAGER])
def test_other_roles_read_but_may_not_act(dealership, users, api_client_for, role):
    complaint = complaint_of(dealership)
    api = api_client_for(users[role])

    assert api.get(f"{BASE}{complaint.pk}/").status_code == 200
    assert [c["id"] for c in api.get(BASE).json()["results"]] == [complaint.pk]
    refused = api.post(f"{BASE}{complaint.pk}/acknowledge/")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


@pytest.mark.django_db
def test_an_advisor_reads_the_complaints_of_their_own_visits_and_may_open_one(dealership, advisor, api_client_for):
    mine = complaint_of(dealership, advisor=advisor)
    other = complaint_of(dealership)
    api = api_client_for(advisor)

    assert [c["id"] for c in api.get(BASE).json()["results"]] == [mine.pk]
    assert api.get(f"{BASE}{other.pk}/").status_code == 404
    opened = api.post(BASE, {"customer": mine.customer.pk, "summary": "前台态度差", "source": "counter"}, format="json")
    assert opened.status_code == 201 and opened.json()["source"] == "counter"
    assert api.post(f"{BASE}{mine.pk}/acknowledge/").status_code == 403


@pytest.mark.django_db
def test_another_dealership_finds_nothing_and_cannot_name_our_records(
    dealership, other_dealership, outsider, api_client_for
):
    complaint = complaint_of(dealership)
    theirs = visit_of(other_dealership)
    api = api_client_for(outsider)

    assert api.get(f"{BASE}{complaint.pk}/").status_code == 404
    assert api.post(f"{BASE}{complaint.pk}/acknowledge/").status_code == 404
    assert api.get(BASE).json()["results"] == []
    foreign = api.post(BASE, {"customer": complaint.customer.pk, "summary": "x"}, format="json")
    assert foreign.status_code == 400 and "customer" in foreign.json()["fields"]
    not_theirs = api.post(
        BASE, {"customer": theirs.customer.pk, "visit": complaint.visit.pk, "summary": "x"}, format="json"
    )
    assert not_theirs.status_code == 400 and "visit" in not_theirs.json()["fields"]
    assert Complaint.objects.count() == 1


@pytest.mark.django_db
def test_an_opened_complaint_cannot_claim_to_come_from_a_survey(dealership, as_manager, api_client_for):
    visit = visit_of(dealership)

    response = api_client_for(as_manager).post(
        BASE, {"customer": visit.customer.pk, "summary": "x", "source": "survey"}, format="json"
    )

    assert response.status_code == 400 and "source" in response.json()["fields"]


# --- surveys -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_managers_read_surveys_with_their_answers(dealership, cc_manager, api_client_for):
    answered = survey_of(dealership, now=TUESDAY_10)
    survey_answer(survey=answered, satisfaction=1, nps=2, comment="很差", now=TUESDAY_10)
    waiting = survey_of(dealership, now=TUESDAY_10)
    api = api_client_for(cc_manager)

    listed = api.get(SURVEYS).json()["results"]
    only_answered = api.get(SURVEYS + "?answered=true").json()["results"]
    one = api.get(f"{SURVEYS}{answered.pk}/").json()

    assert {s["id"] for s in listed} == {answered.pk, waiting.pk}
    assert [s["id"] for s in only_answered] == [answered.pk]
    assert (one["satisfaction"], one["nps"], one["comment"]) == (1, 2, "很差")
    assert one["complaint"] == Complaint.objects.get(survey=answered).pk


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT])
def test_surveys_are_for_managers(dealership, users, outsider, api_client_for, role):
    survey = survey_of(dealership)

    assert api_client_for(users[role]).get(SURVEYS).status_code == 403
    assert api_client_for(outsider).get(f"{SURVEYS}{survey.pk}/").status_code == 404
