"""Shared fixtures: two dealerships, one user per role, clients, and the service gates.

Tests marked ``postgres``, ``redis`` or ``browser`` need a real service. Outside
CI they skip with a message naming what to install; under ``CI=true`` they fail.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from dealercrm.core.roles import Role
from tests.factories import DealershipFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _missing_service(marker: str) -> str | None:
    if marker == "postgres":
        if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "psql", "pgsql")):
            return "needs PostgreSQL 15: install it (apt-get install postgresql) and set DATABASE_URL=postgres://..."
    elif marker == "redis":
        url = os.environ.get("REDIS_URL", "")
        if not url:
            return "needs Redis 7: install it (apt-get install redis-server) and set REDIS_URL=redis://127.0.0.1:6379/0"
        if not _reachable(url, 6379):
            return f"needs Redis at {url}, which does not answer (apt-get install redis-server; start it)"
    elif marker == "browser" and not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return "needs Debian's Chromium: apt-get install chromium fonts-wqy-zenhei"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker):
            reason = _missing_service(marker)
            if reason:
                if IN_CI:
                    pytest.fail(f"CI=true and this test {reason}", pytrace=False)
                pytest.skip(reason)


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def dealership(db):
    return DealershipFactory(code="SZ01", name="深圳别克4S店", plate_prefix="粤B")


@pytest.fixture
def other_dealership(db):
    return DealershipFactory(code="GZ02", name="广州别克4S店", city="广州", plate_prefix="粤A")


def _user(role, dealerships, username):
    return UserFactory(username=username, role=role, dealerships=dealerships)


@pytest.fixture
def advisor(dealership):
    return _user(Role.ADVISOR, [dealership], "advisor")


@pytest.fixture
def agent(dealership):
    return _user(Role.AGENT, [dealership], "agent")


@pytest.fixture
def cc_manager(dealership):
    return _user(Role.CC_MANAGER, [dealership], "ccmanager")


@pytest.fixture
def as_manager(dealership):
    return _user(Role.AS_MANAGER, [dealership], "asmanager")


@pytest.fixture
def admin_user(dealership):
    return _user(Role.ADMIN, [dealership], "administrator")


@pytest.fixture
def outsider(other_dealership):
    """An after-sales manager of another dealership: every record of ``dealership`` is 404 to them."""
    return _user(Role.AS_MANAGER, [other_dealership], "outsider")


@pytest.fixture
def users(advisor, agent, cc_manager, as_manager, admin_user):
    return {
        Role.ADVISOR: advisor,
        Role.AGENT: agent,
        Role.CC_MANAGER: cc_manager,
        Role.AS_MANAGER: as_manager,
        Role.ADMIN: admin_user,
    }


@pytest.fixture
def client_for(client):
    """A Django test client logged in as the given user."""

    def make(user):
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_client_for():
    """A DRF client authenticated as the given user (token auth, like a REST client)."""

    def make(user):
        from dealercrm.core.staff.services import token_issue_for_login

        api = APIClient()
        token, key = token_issue_for_login(user=user, name="tests")
        # As if just used: the token's last-use write (at most once a minute) stays out of query counts.
        type(token).objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return api

    return make
