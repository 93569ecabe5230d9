"""A campaign's results are a report (SPEC "reports, dashboards, exports": advisor —, agent own figures, managers
all): the advisor does not read them, an agent reads the figures of their own call list, the managers the whole
campaign's. On the campaign page and through the API alike."""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from campaigns import services
from campaigns.models import Invitation
from tests.campaigns.conftest import NOW, START
from tests.factories import ServiceVisitFactory

pytestmark = pytest.mark.django_db

VISIT_DAY = date(2026, 12, 2)


@pytest.fixture
def called(campaign, person, agent, second_agent):
    """A running campaign of six invitees, three on each agent's list: the agent called two and booked one who came
    (¥800), the second agent called all three and booked two who came (¥500 each); one customer not on the list
    came with the campaign's code (¥300)."""
    for _ in range(6):
        person()
    services.target_group_create(campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]})
    with time_machine.travel(NOW, tick=False):
        services.campaign_schedule(campaign=campaign)
        services.campaign_start(campaign=campaign, today=START)
        services.invitation_list_generate(campaign=campaign, agents=[agent, second_agent])
        for caller, booked, amount in ((agent, 1, "800"), (second_agent, 2, "500")):
            invitations = list(Invitation.objects.filter(campaign=campaign, agent=caller).order_by("id"))
            assert len(invitations) == 3
            for invitation in invitations[:booked]:
                services.call_record(
                    invitation=invitation, agent=caller, outcome="accepted", appointment_date=VISIT_DAY
                )
                ServiceVisitFactory(
                    vehicle=invitation.customer.vehicles.first(),
                    opened_on=VISIT_DAY,
                    closed_on=VISIT_DAY,
                    total_amount=Decimal(amount),
                )
            services.call_record(invitation=invitations[-1], agent=caller, outcome="declined", reason="not_needed")
    walk_in = person()
    ServiceVisitFactory(
        vehicle=walk_in.vehicles.first(),
        opened_on=VISIT_DAY,
        closed_on=VISIT_DAY,
        total_amount=Decimal("300"),
        campaign_code=campaign.code,
    )
    return campaign


def results(api, campaign):
    return api.get(reverse("api-campaign-results", args=[campaign.pk]))


def figures(body) -> dict:
    (row,) = body["group_summary"]
    return {key: row[key] for key in ("invited", "called", "booked", "attended", "revenue")}


def test_the_advisor_does_not_read_the_results(called, advisor, client_for, api_client_for):
    # Given an advisor of the store
    # When they ask the API for the results
    assert results(api_client_for(advisor), called).status_code == 403
    # and open the campaign page, which they may read
    response = client_for(advisor).get(reverse("campaigns:detail", args=[called.pk]))
    # Then the page shows the campaign but none of its figures
    html = response.content.decode()
    assert response.status_code == 200 and called.code in html
    assert 'id="results"' not in html and 'data-testid="campaign-booked"' not in html
    assert 'id="group-summary"' not in html and 'data-testid="non-target-customers"' not in html


def test_an_agent_reads_the_figures_of_their_own_list(called, agent, client_for, api_client_for):
    # When the agent asks for the results
    response = results(api_client_for(agent), called)

    # Then they are the figures of their three invitations: two called, one booked who came with ¥800
    assert response.status_code == 200
    body = response.json()
    assert figures(body) == {"invited": 3, "called": 2, "booked": 1, "attended": 1, "revenue": "800.00"}
    # and nothing of the whole store's
    assert body["non_target_participants"] is None

    # The page says so and shows the same figures
    html = client_for(agent).get(reverse("campaigns:detail", args=[called.pk])).content.decode()
    assert 'data-testid="own-figures"' in html and 'id="group-summary"' in html
    total = re.search(r'data-testid="summary-total".*?</tr>', html, re.S).group(0)
    # invited, called, reached, booked
    assert re.findall(r'<td class="num">(\d+)</td>', total)[:4] == ["3", "2", "2", "1"]
    assert 'data-testid="non-target-customers"' not in html and 'data-testid="campaign-booked"' not in html


@pytest.mark.parametrize("role", ["cc_manager", "as_manager", "admin_user"])
def test_managers_read_the_whole_campaigns_figures(called, role, request, client_for, api_client_for):
    manager = request.getfixturevalue(role)

    body = results(api_client_for(manager), called).json()

    assert figures(body) == {"invited": 6, "called": 5, "booked": 3, "attended": 3, "revenue": "1800.00"}
    assert body["non_target_participants"] == {"customers": 1, "revenue": "300.00"}
    html = client_for(manager).get(reverse("campaigns:detail", args=[called.pk])).content.decode()
    assert 'data-testid="own-figures"' not in html and 'data-testid="non-target-customers"' in html
