"""Whose figures a report shows (``reports.scope.Scope.for_request``): the request's store, all of a group
manager's stores on ``?stores=all`` (refused to anyone else), and an agent's own figures."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from dealercrm.core.models import Membership
from dealercrm.core.roles import Role
from reports.scope import Scope
from tests.factories import DealershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def request_of(user, **query):
    request = RequestFactory().get("/reports/", query)
    request.user = user
    return request


def test_a_manager_reads_the_requests_store(dealership, other_dealership, as_manager):
    scope = Scope.for_request(request_of(as_manager))
    assert scope.dealerships == (dealership,) and scope.agent_id is None and not scope.is_group
    assert scope.as_params() == {"dealership": dealership.code}


def test_another_stores_code_is_404(dealership, other_dealership, as_manager):
    with pytest.raises(Http404):
        Scope.for_request(request_of(as_manager, dealership=other_dealership.code))


def test_a_group_manager_reads_all_their_stores_together(dealership, other_dealership, as_manager):
    Membership.objects.create(user=as_manager, dealership=other_dealership)
    DealershipFactory(code="ZZ99")  # not theirs
    scope = Scope.for_request(request_of(as_manager, stores="all"))
    assert scope.is_group and {d.code for d in scope.dealerships} == {dealership.code, other_dealership.code}
    assert scope.as_params() == {"stores": "all"}


def test_the_group_view_is_refused_to_a_manager_of_one_store_and_to_an_agent(dealership, other_dealership):
    one = UserFactory(role=Role.AS_MANAGER, dealerships=[dealership])
    agent = UserFactory(role=Role.AGENT, dealerships=[dealership, other_dealership])
    for user in (one, agent):
        with pytest.raises(PermissionDenied):
            Scope.for_request(request_of(user, stores="all"))


def test_an_agent_reads_only_their_own_figures(dealership, agent):
    scope = Scope.for_request(request_of(agent))
    assert scope.dealerships == (dealership,) and scope.agent_id == agent.pk


def test_a_user_of_no_store_is_refused(db):
    with pytest.raises(PermissionDenied):
        Scope.for_request(request_of(UserFactory(role=Role.AS_MANAGER)))
