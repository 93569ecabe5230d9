"""The reports' tabs lead to every reports page a role may open: managers see the dashboard and the weekly
packs, an agent only the list of reports."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_manager_finds_the_weekly_packs_from_the_reports(client_for, as_manager):
    page = client_for(as_manager).get(reverse("reports:index")).content.decode()
    assert 'data-testid="tab-packs"' in page and reverse("reports:packs") in page
    assert 'data-testid="tab-dashboard"' in page


def test_an_agent_sees_only_the_list_of_reports(client_for, agent):
    page = client_for(agent).get(reverse("reports:index")).content.decode()
    assert 'data-testid="tab-reports"' in page
    assert 'data-testid="tab-packs"' not in page and 'data-testid="tab-dashboard"' not in page
