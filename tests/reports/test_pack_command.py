"""``manage.py send_weekly_packs``: the beat job's work, once: last week's pack built and e-mailed to each
manager of the store with an address; run again, nothing is built or sent twice."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from dealercrm.core.roles import Role
from reports.models import PackDelivery, WeeklyPack
from tests.factories import ServiceVisitFactory, UserFactory

pytestmark = pytest.mark.django_db
# Tuesday 8 December 2026, 10:00 in Shanghai: the pack of Monday 30 November – Sunday 6 December is due
TUESDAY = dt.datetime(2026, 12, 8, 2, 0, tzinfo=dt.UTC)


def test_the_command_builds_and_sends_last_weeks_pack_once(dealership):
    managers = [
        UserFactory(role=role, dealerships=[dealership], email=f"{role}@store.test")
        for role in (Role.AS_MANAGER, Role.CC_MANAGER, Role.ADMIN)
    ]
    UserFactory(role=Role.ADVISOR, dealerships=[dealership], email="advisor@store.test")  # not a recipient
    UserFactory(role=Role.AS_MANAGER, dealerships=[dealership], email="")  # no address: nobody to send to
    ServiceVisitFactory(vehicle__owner__dealership=dealership, opened_on=dt.date(2026, 12, 2), closed_on=None)

    with time_machine.travel(TUESDAY, tick=False):
        first, second = StringIO(), StringIO()
        call_command("send_weekly_packs", stdout=first)
        call_command("send_weekly_packs", stdout=second)

    pack = WeeklyPack.objects.get(dealership=dealership)
    assert pack.week_start == dt.date(2026, 11, 30) and pack.status == WeeklyPack.Status.READY and pack.file
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.email for m in managers)
    assert PackDelivery.objects.filter(pack=pack, status=PackDelivery.Status.SENT).count() == 3
    assert "1 built" in first.getvalue() and "3 sent" in first.getvalue()
    assert "0 built" in second.getvalue() and "0 sent" in second.getvalue()
