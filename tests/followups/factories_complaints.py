"""Helpers of the survey and complaint tests: a visit of the store, its survey, a complaint opened through the
service (so its deadlines and follow-up call are the real ones)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from followups import complaints as services
from followups import surveys
from followups.models import Complaint
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a Tuesday at 10:00 in Shenzhen
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI)


def visit_of(dealership, *, advisor=None, customer=None):
    customer = customer or CustomerFactory(dealership=dealership)
    vehicle = VehicleFactory(owner=customer)
    return ServiceVisitFactory(vehicle=vehicle, advisor=advisor)


def survey_of(dealership, *, now=TUESDAY_10, advisor=None, visit=None):
    visit = visit or visit_of(dealership, advisor=advisor)
    return surveys.survey_for_visit(visit=visit, now=now)


def complaint_of(dealership, *, now=TUESDAY_10, advisor=None, visit=None, acting_user=None, summary="等了三个小时"):
    visit = visit or visit_of(dealership, advisor=advisor)
    return services.complaint_open(
        dealership=dealership,
        customer=visit.customer,
        source=Complaint.Source.COUNTER,
        summary=summary,
        visit=visit,
        acting_user=acting_user,
        now=now,
    )
