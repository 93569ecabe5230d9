"""Access by construction: every URL of ``dealercrm.urls``, every method it serves, every role.

The cases are generated from the URL configuration (walked recursively: the pages, the API with its routers'
format-suffix variants, the Django admin) and from the role table (``dealercrm.core.roles``). For each URL and
method:

- anonymous: no content: a redirect to the login page (pages; the admin's own login for the admin), 401 or
  403 (API);
- each role of the dealership: the answer the role table gives for the action the view declares (pages:
  ``DealershipMixin.action`` / ``action_for``; API: ``action_permissions`` / ``required_action`` read by
  ``HasAction``). Allowed: a read answers 2xx/3xx; a write with an empty body may also be refused as such
  (400, 409, 415), never 401, 403, 404 or a server error; forbidden: 403, whatever the body;
- each role of another dealership, with the ids of the first dealership's records in the URL: 404 when their
  role may do the action (the record does not exist for them), else 403 — the same answer as for any id, so
  neither reveals that the record exists;
- the Django admin is for the platform's operators (superusers): every dealership user gets its login page.

A view that declares no action fails, unless its URL is in ``PUBLIC`` with the reason. An id in a URL is the
id of a real record of the dealership: ``RECORD_BEFORE`` says which record the path segment before it names,
``KWARGS`` what other URL arguments are; an argument neither knows fails with a message saying where to add it.
So a new URL without a role entry, or whose records are not scoped to the dealership, fails here by itself.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.views import View
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Customer
from dealercrm.core.api import HasAction
from dealercrm.core.roles import PERMISSIONS, Role, can
from dealercrm.core.views import DealershipMixin
from followups.surveys import survey_token
from tests.factories import CustomerFactory, DealershipFactory, ServiceVisitFactory, UserFactory, VehicleFactory

ROLES = [Role.ADVISOR, Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN]
METHODS = ["get", "post", "put", "patch", "delete"]

#: URLs anyone may request, by URL name, each with the reason. Keep it short.
PUBLIC = {
    "home": "a redirect to the counter, which asks for the login itself",
    "login": "the login page",
    "logout": "logging out (a POST that ends the session, if any)",
    "set_language": "choosing the language, also on the login page",
    "api-token": "a REST client exchanges its username and password for a token here",
    "admin:login": "the Django admin's login page, for the platform's operators",
    "api-followups-webhook-sms-receipt": "the SMS gateway's delivery receipts: signed with the shared secret "
    "(HMAC over timestamp and body), not a session or token",
    "api-followups-webhook-sms-reply": "customers' replies relayed by the SMS gateway: signed with the shared "
    "secret (HMAC over timestamp and body), not a session or token",
    "surveys:answer": "a customer's survey: the signed, single-use link in their message is the key",
    "surveys:thanks": "the thank-you page a customer sees after answering a survey (nothing of theirs on it)",
    "invites:page": "an invitee's personal campaign page: the signed link in their message is the key",
}

#: the path segment before an id → the record of the dataset it names
RECORD_BEFORE = {
    "customers": "customer",
    "vehicles": "vehicle",
    "visits": "visit",
    "appointments": "appointment",
    "runs": "run",
    "rules": "rule_set",
    "campaigns": "campaign",
    "groups": "target_group",
    "target-groups": "target_group",
    "invitations": "invitation",
    "calls": "invitation",  # /calls/<pk>/outcome/: an invitation on the agent's list
    "touches": "touch",  # /calls/touches/<pk>/outcome/: a follow-up call task on the agent's list
    "templates": "message_template",  # /followups/templates/<pk>/
    "message-templates": "message_template",
    "coupon-templates": "coupon_template",
    "coupons": "coupon",
    "compliance": "compliance_term",
    "compliance-terms": "compliance_term",
    "users": "user",
    "imports": "import_run",
    "complaints": "complaint",
    "surveys": "survey",
    "jobs": "export_job",  # /reports/exports/jobs/<pk>/: a report export run as a task
    "packs": "pack",  # /reports/exports/packs/<pk>/file/: a weekly report pack
}
#: URL arguments that name a record (which one: the segment before them, ``RECORD_BEFORE``)
ID_KWARGS = {"pk", "id", "object_id"}
#: other URL arguments → the value to use (a callable taking the dataset)
KWARGS = {
    "format": lambda data: "json",
    "token_key": lambda data: data["token_key"],  # an API token's public prefix
    "survey_token": lambda data: data["survey_token"],  # followups.surveys: a survey's signed link
    "invite_token": lambda data: "not-a-signed-invitation",  # campaigns.invites: a changed link answers 400
    "slug": lambda data: "incentives",  # reports: a report an agent may read too (their own figures)
    "fmt": lambda data: "csv",  # reports: an export's format
    "code": lambda data: "workshop.entries",  # reports: the KPI whose rows a drill-down lists
    "group": lambda data: "profitable_loyal",  # reports: the C3 group of an incentive tier table
}

#: query strings a read needs to answer at all (without them: 400), by URL name
QUERIES = {
    "api-segmentation-run-movement": lambda data: f"from={data['run']}",
    "api-segmentation-quarterly-review": lambda data: f"first={data['run_date']}&second={data['today']}",
    # a customer merged with themselves: the page answers (with the refusal), nothing is merged
    "privacy:merge": lambda data: f"survivor={data['customer']}&merged={data['customer']}",
}

#: URL names whose record belongs to one user of the dealership (the agent, in the dataset): another user whose
#: role allows the action is refused (403) or does not find it (404)
OWN_RECORDS = {
    "calls:outcome": "an invitation is worked by the agent whose list it is on",
    "calls:followup-outcome": "a follow-up call is made by the agent it is assigned to",
    "api-campaign-invitation-outcome": "an invitation is worked by the agent whose list it is on",
    "calls:phone": "an invitation's number is revealed only to the agent whose list it is on",
    "calls:followup-phone": "a follow-up call's number is revealed only to the agent it is assigned to",
    "calls:consent": "consent on a call is recorded by the agent whose call it is",
    "calls:followup-consent": "consent on a follow-up call is recorded by the agent whose call it is",
    "reports:export-job": "a report export is its requester's (the agent, in the dataset)",
    "reports:export-job-file": "a report export is its requester's (the agent, in the dataset)",
}
#: writes whose body names the record: with an empty body there is none to find (404)
BODY_NAMES_THE_RECORD = {
    "calls:coupon-redeem": "the code typed at the counter names the coupon",
}
#: a write with an empty body may be refused as such, after the access check: invalid, conflicting with the
#: record's state, or not in the media type the endpoint reads (a file upload)
REFUSED_BODY = {400, 409, 415}


# --- the URL configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pieces: tuple  # the URL patterns from the root down to the view
    name: str  # namespace:name, or "" for an unnamed pattern
    callback: object
    admin: bool

    @property
    def text(self) -> str:
        return "".join(str(piece.pattern) for piece in self.pieces)

    @property
    def api(self) -> bool:
        return _api_class(self.callback) is not None

    def methods(self) -> list[str]:
        cls = _api_class(self.callback)
        if cls is not None:
            actions = getattr(self.callback, "actions", None)
            if actions:
                return [m for m in METHODS if m in actions]
            return [m for m in METHODS if hasattr(cls, m)]
        view_class = getattr(self.callback, "view_class", None)
        if view_class is not None:
            return [m for m in METHODS if m in view_class.http_method_names and hasattr(view_class, m)]
        return ["get", "post"]  # a function view (the admin's) takes both


def _api_class(callback):
    cls = getattr(callback, "cls", None)
    return cls if isinstance(cls, type) and issubclass(cls, APIView) else None


def _walk(resolver, pieces=(), namespace="", admin_site=False):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            space = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _walk(entry, (*pieces, entry), space, admin_site or entry.app_name == "admin")
        elif isinstance(entry, URLPattern):
            name = ":".join(filter(None, [namespace, entry.name])) if entry.name else ""
            yield Route((*pieces, entry), name, entry.callback, admin_site)


ROUTES = list(_walk(get_resolver()))
CASES = [(route, method) for route in ROUTES for method in route.methods()]


def declared_action(route: Route, method: str) -> tuple[str, ...]:
    """The role-table actions the view says a request with ``method`` needs (any one of them is enough); fails if
    it declares none."""
    cls = _api_class(route.callback)
    if cls is not None:
        assert any(issubclass(permission, HasAction) for permission in cls.permission_classes), (
            f"{cls.__name__} does not check the role table: add HasAction to its permission_classes"
        )
        mapping = getattr(cls, "action_permissions", None)
        if mapping is not None:
            actions = getattr(route.callback, "actions", None) or {}
            key = actions.get(method, method)
            action = mapping.get(key, mapping.get("*"))
        else:
            action = getattr(cls, "required_action", None)
        assert action, (
            f"{cls.__name__} declares no role-table action for {method.upper()} ({route.text}): add it to "
            "action_permissions or set required_action"
        )
    else:
        view_class = getattr(route.callback, "view_class", None)
        assert view_class is not None and issubclass(view_class, DealershipMixin), (
            f"{route.text} ({route.name or 'unnamed'}) is a page without DealershipMixin: base it on "
            "DealershipMixin with an action, or add its URL name to PUBLIC with the reason"
        )
        action = view_class.action_for(method)
        assert action, (
            f'{view_class.__name__} declares no action for {method.upper()}: set action ("customer.view" for a '
            "page every member of the dealership may open)"
        )
    actions = (action,) if isinstance(action, str) else tuple(action)
    unknown = [name for name in actions if name not in PERMISSIONS]
    assert not unknown, f"{unknown} not in the role table (dealercrm/core/roles.py)"
    return actions


# --- building a URL with real ids ---------------------------------------------------------------------------

NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*)\)")
UNNAMED_GROUP = re.compile(r"\((?!\?)[^()]*\)")
ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


def _segment_before(text: str) -> str:
    """The last path segment of ``text`` (a URL being built, regex anchors included): "customers" in
    "/api/v1/^customers/"."""
    parts = [part for part in re.split(r"[/^]", text.replace("\\", "")) if part]
    return parts[-1] if parts else ""


def _admin_id(route: Route, data) -> str:
    model_admin = getattr(route.callback, "model_admin", None)
    model = model_admin.model if model_admin else None
    if model is not None:
        pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if pk is not None:
            return str(pk)
    return str(data["customer"])


def _value(route: Route, name: str, before: str, data, regex_body: str = "") -> str:
    """The value of URL argument ``name`` (``before``: the URL up to it)."""
    if name in KWARGS:
        return KWARGS[name](data)
    if route.admin:  # answered by the admin's login before anything is looked up; still a real id
        if name == "app_label":
            return regex_body.split("|")[0]
        if name == "content_type_id":
            return str(ContentType.objects.get_by_natural_key("customers", "customer").pk)
        if name == "url":
            return "no-such-page/"
        return _admin_id(route, data)
    if name in ID_KWARGS:
        segment = _segment_before(before)
        assert segment in RECORD_BEFORE, (
            f"{route.text}: which record does an id after {segment!r}/ name? Add {segment!r} to RECORD_BEFORE "
            "in tests/core/test_access.py and create one such record in the dataset"
        )
        return str(data[RECORD_BEFORE[segment]])
    pytest.fail(
        f"{route.text}: unknown URL argument {name!r}. Say what it is in KWARGS (or ID_KWARGS) in "
        "tests/core/test_access.py, with a value from a record of the dataset",
        pytrace=False,
    )


def build_path(route: Route, data) -> str:
    path = "/"
    for piece in route.pieces:
        pattern = piece.pattern
        text = str(pattern)
        if isinstance(pattern, RegexPattern):
            out, position = "", 0
            for match in re.finditer(rf"{NAMED_GROUP.pattern}|{UNNAMED_GROUP.pattern}", text):
                out += text[position : match.start()]
                name = match.group("name")
                if name is None:  # a positional argument: the admin's simple-history views only
                    assert route.admin, f"{route.text}: name the URL's arguments"
                    value = "1" if out.endswith("history/") else _admin_id(route, data)  # version id, object id
                else:
                    value = _value(route, name, path + out, data, match.group("body"))
                out += value
                position = match.end()
            out += text[position:]
            out = out.lstrip("^").rstrip("$").replace("/?", "/").replace("\\.", ".")
            path += out
        elif isinstance(pattern, RoutePattern):
            out, position = "", 0
            for match in ROUTE_PARAM.finditer(text):
                out += text[position : match.start()]
                name = match.group("name")
                value = _value(route, name, path + out, data)
                converter = pattern.converters.get(name)
                out += converter.to_url(value) if converter else value  # DRF's format converter adds the dot
                position = match.end()
            path += out + text[position:]
        else:
            path += text
    path = re.sub(r"/{2,}", "/", path)
    assert not re.search(r"[()\\^$?*+\[\]]", path), f"{route.text}: could not build a URL (got {path})"
    match = resolve(path)
    assert match.func is route.callback, f"{route.text}: built {path}, which resolves to another view"
    return path


# --- one dataset for the whole module -----------------------------------------------------------------------


def _users(dealership, prefix):
    return {role: UserFactory(username=f"{prefix}{role}", role=role, dealerships=[dealership]) for role in ROLES}


def _records(dealership, users) -> dict:
    """One record of every kind a URL names, in ``dealership``; the agent has the invitation on their list."""
    from campaigns import services as campaigns
    from campaigns.models import Invitation
    from customers import services as customers
    from segmentation.models import CustomerSegment, SegmentationRun
    from segmentation.services import ruleset_current

    today = dealership.local_date()
    customer = CustomerFactory(dealership=dealership)
    vehicle = VehicleFactory(owner=customer)
    visit = ServiceVisitFactory(vehicle=vehicle, opened_on=today, closed_on=None, total_amount=Decimal("800"))
    appointment = customers.appointment_create(dealership=dealership, customer=customer, vehicle=vehicle, date=today)
    rule_set = ruleset_current(dealership=dealership)
    run = SegmentationRun.objects.create(
        dealership=dealership,
        rule_set=rule_set,
        reference_date=today - timedelta(days=1),
        status=SegmentationRun.Status.SUCCEEDED,
    )
    CustomerSegment.objects.create(
        dealership=dealership,
        customer=customer,
        valid_from=run,
        c3_group="profitable_loyal",
        tier="A",
        value_layer="high",
        lapsed=False,
        tags=0,
        window_visits=4,
        maintenance_visits=3,
        window_spend=Decimal("3000.00"),
        maintenance_spend=Decimal("1500.00"),
        observed_from=today - timedelta(days=900),
        visits_12m=2,
        lifetime_value=Decimal("6000.00"),
        last_visit_on=today - timedelta(days=90),
    )
    template = campaigns.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100")
    )
    campaign = campaigns.campaign_create(
        dealership=dealership,
        code="ACCESS26",
        name="冬季保养",
        kind="maintenance",
        starts_on=today,
        ends_on=today + timedelta(days=30),
    )
    group = campaigns.target_group_create(campaign=campaign, name="全部车主", filters={}, offers=[template])
    campaigns.campaign_schedule(campaign=campaign)
    campaign.refresh_from_db()
    campaigns.campaign_start(campaign=campaign, today=today)
    campaigns.invitation_list_generate(campaign=campaign, agents=[users[Role.AGENT]])
    invitation = Invitation.objects.get(campaign=campaign, customer=customer)
    assert invitation.agent == users[Role.AGENT]
    coupon = campaigns.coupon_issue(template=template, customer=customer, campaign=campaign)
    term = campaigns.compliance_term_add(dealership=dealership, kind="banned", phrase="超值")
    colleague = UserFactory(username=f"{dealership.code}-colleague", role=Role.ADVISOR, dealerships=[dealership])
    from customers.models import ImportRun

    import_run = ImportRun.objects.create(dealership=dealership, source="api", status=ImportRun.Status.SUCCEEDED)
    complaint, survey = _complaint_and_survey(dealership, users)
    touch = _followup_call(dealership, visit, users[Role.AGENT])
    export_job, pack = _report_files(dealership, users[Role.AGENT])
    return {
        "export_job": export_job.pk,
        "pack": pack.pk,
        "import_run": import_run.pk,
        "user": colleague.pk,
        "token_key": _token_key(colleague),
        "customer": customer.pk,
        "vehicle": vehicle.pk,
        "visit": visit.pk,
        "appointment": appointment.pk,
        "run": run.pk,
        "rule_set": rule_set.pk,
        "run_date": run.reference_date.isoformat(),
        "today": today.isoformat(),
        "campaign": campaign.pk,
        "target_group": group.pk,
        "invitation": invitation.pk,
        "coupon_template": template.pk,
        "coupon": coupon.pk,
        "coupon_code": coupon.code,
        "compliance_term": term.pk,
        "complaint": complaint.pk,
        "survey": survey.pk,
        "survey_token": survey_token(survey),
        "touch": touch.pk,
        "message_template": _message_template(dealership).pk,
    }


def _report_files(dealership, agent):
    """A finished report export of the agent's, and last week's report pack of the store, each with its file."""
    from django.core.files.base import ContentFile

    from reports.models import ExportJob, WeeklyPack

    job = ExportJob.objects.create(dealership=dealership, user=agent, report="incentives", status="done", progress=100)
    job.file.save("access.csv", ContentFile(b"a,b\n"), save=True)
    today = dealership.local_date()
    pack = WeeklyPack.objects.create(
        dealership=dealership, week_start=today - timedelta(days=today.weekday() + 7), status="ready"
    )
    pack.file.save("access.xlsx", ContentFile(b"PK"), save=True)
    return job, pack


def _message_template(dealership):
    """The store's own text of the day-7 follow-up by SMS."""
    from followups.models import MessageTemplate

    return MessageTemplate.objects.create(
        dealership=dealership, kind="day7", channel="sms", language="zh-hans", body="{customer_name}您好"
    )


def _followup_call(dealership, visit, agent):
    """A day-7 follow-up call on the visit, due now, on the agent's list."""
    from django.utils import timezone

    from followups.models import Priority, Touch

    return Touch.objects.create(
        dealership=dealership,
        kind=Touch.Kind.DAY_7,
        customer_id=visit.customer_id,
        visit=visit,
        due_at=timezone.now(),
        touch_class="service",
        channel="call",
        assignee=agent,
        priority=Priority.SATISFACTION,
        max_attempts=3,
    )


def _complaint_and_survey(dealership, users):
    """A complaint about a visit of the advisor's (an advisor reads only those) and a survey, of a customer of
    their own (opening a complaint stops the customer's pending surveys and marketing)."""
    from followups.complaints import complaint_open
    from followups.surveys import survey_for_visit

    owner = CustomerFactory(dealership=dealership)
    visit = ServiceVisitFactory(vehicle=VehicleFactory(owner=owner), advisor=users[Role.ADVISOR])
    survey = survey_for_visit(visit=visit)
    complaint = complaint_open(dealership=dealership, customer=owner, source="counter", summary="等了很久", visit=visit)
    return complaint, survey


def _token_key(user) -> str | None:
    """The public prefix of an API token of ``user`` (django-rest-knox), where the project has such tokens."""
    if not any("token_key" in route.text for route in ROUTES):
        return None
    from knox.models import get_token_model

    token, _key = get_token_model().objects.create(user=user, expiry=timedelta(days=30))
    return token.token_key


def _client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Two dealerships, five roles in each, a record of every kind in the first, a logged-in client per user.

    Made once, in a transaction rolled back after the module; each test runs in its own savepoint inside it.
    """
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            ours = DealershipFactory(code="SZ01", name="深圳别克4S店", plate_prefix="粤B")
            theirs = DealershipFactory(code="GZ02", name="广州别克4S店", city="广州", plate_prefix="粤A")
            members, outsiders = _users(ours, "sz-"), _users(theirs, "gz-")
            data = _records(ours, members)
            yield {
                "data": data,
                "members": {role: (user, _client(user)) for role, user in members.items()},
                "outsiders": {role: (user, _client(user)) for role, user in outsiders.items()},
            }
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def ask(client: Client, method: str, path: str):
    """One request, its writes undone: every request sees the same dataset."""
    with transaction.atomic():
        response = (
            getattr(client, method)(path, content_type="application/json") if method != "get" else client.get(path)
        )
        transaction.set_rollback(True)
    return response


def _refused_anonymous(route: Route, response) -> str | None:
    """None when ``response`` gives nothing away: 401/403 (the API), or a redirect to log in (pages; the admin
    sends to its own login, or from its logout to its index, which asks for the login)."""
    status = response.status_code
    if route.api and status in (401, 403):
        return None
    if route.admin:
        targets = (resolve_url("admin:login"), resolve_url("admin:index"))
    else:
        targets = (resolve_url(settings.LOGIN_URL),)
    if status == 302 and response["Location"].split("?")[0] in targets:
        return None
    return f"expected {'401 or 403, or ' if route.api else ''}a redirect to {' or '.join(targets)}"


def _names_a_record(route: Route) -> bool:
    text = route.text
    return any(
        f"<{kind}" in text or f":{kind}>" in text or f"<{kind}>" in text or f"(?P<{kind}>" in text for kind in ID_KWARGS
    )


def _case_id(case) -> str:
    route, method = case
    return f"{method.upper()} /{route.text}"


def problems(route: Route, method: str, path: str, world) -> list[str]:
    """What answers ``method path`` wrongly: anonymous, each role of the dealership, each role of another."""
    found = []

    # anonymous: never content
    response = ask(_client(), method, path)
    if reason := _refused_anonymous(route, response):
        found.append(f"anonymous: {response.status_code}, {reason}")

    if route.admin:  # the platform's operators only: every dealership user is sent to the admin's login
        for role, (_user, client) in world["members"].items():
            response = ask(client, method, path)
            if reason := _refused_anonymous(route, response):
                found.append(f"{role}: {response.status_code}, {reason}")
        return found

    actions = declared_action(route, method)
    action = " or ".join(actions)

    # the dealership's own users: the role table
    for role, (user, client) in world["members"].items():
        status = ask(client, method, path).status_code
        if any(can(user, name) for name in actions):
            fine = status < 400 or (method != "get" and status in REFUSED_BODY)
            if route.name in OWN_RECORDS and role != Role.AGENT:
                fine = fine or status in (403, 404)
            if route.name in BODY_NAMES_THE_RECORD:
                fine = fine or status == 404
            if not fine:
                found.append(f"{role} may {action}: got {status}")
        elif status != 403:
            found.append(f"{role} may not {action}: expected 403, got {status}")

    # users of another dealership, with our ids: not found (or refused by role, as for any id)
    if _names_a_record(route):
        for role, (user, client) in world["outsiders"].items():
            status = ask(client, method, path).status_code
            expected = 404 if any(can(user, name) for name in actions) else 403
            if status != expected:
                found.append(f"{role} of another dealership may {action}: expected {expected}, got {status}")
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_every_url_answers_as_the_role_table_says(case, world):
    route, method = case
    path = build_path(route, world["data"])
    if route.name in PUBLIC:
        assert ask(_client(), method, path).status_code < 500
        return
    if route.name in QUERIES:
        path += "?" + QUERIES[route.name](world["data"])

    found = problems(route, method, path, world)

    assert not found, f"{method.upper()} {path}:\n" + "\n".join(found)


# --- negative controls: the test sees a missing declaration, a missing scope, an unknown argument ----------


class UndeclaredPage(DealershipMixin, View):
    def get(self, request):
        return HttpResponse("everyone")


class UnscopedPage(DealershipMixin, View):
    """Declares its action but looks the customer up without the dealership."""

    action = "customer.view"

    def get(self, request, pk):
        return HttpResponse(get_object_or_404(Customer, pk=pk).name)


class UncheckedEndpoint(APIView):
    required_action = "customer.view"  # declared, but HasAction is not among its permission classes

    def get(self, request):
        return Response({})


#: the URLconf of the negative controls (``@pytest.mark.urls``)
urlpatterns = [
    path("undeclared/", UndeclaredPage.as_view(), name="undeclared"),
    path("customers/<int:pk>/unscoped/", UnscopedPage.as_view(), name="unscoped"),
    path("api/unchecked/", UncheckedEndpoint.as_view(), name="unchecked"),
    path("accounts/login/", UndeclaredPage.as_view(), name="login"),
]


def _control(name: str) -> Route:
    pattern = next(entry for entry in urlpatterns if entry.name == name)
    return Route((pattern,), name, pattern.callback, admin=False)


def test_a_url_that_declares_no_action_fails():
    with pytest.raises(AssertionError, match="UndeclaredPage declares no action for GET"):
        declared_action(_control("undeclared"), "get")
    with pytest.raises(AssertionError, match="UncheckedEndpoint does not check the role table"):
        declared_action(_control("unchecked"), "get")


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_url_that_finds_another_dealerships_record_fails(world):
    # the unscoped page shows our customer to every role of the other dealership: the test says so for each
    path = f"/customers/{world['data']['customer']}/unscoped/"

    found = problems(_control("unscoped"), "get", path, world)

    assert found == [
        f"{role} of another dealership may customer.view: expected 404, got 200" for role in world["outsiders"]
    ]


def test_an_argument_the_test_does_not_know_fails_with_where_to_say_what_it_is():
    route = _control("unscoped")
    with pytest.raises(AssertionError, match="Add 'widgets' to RECORD_BEFORE"):
        _value(route, "pk", "/widgets/", {})
    with pytest.raises(pytest.fail.Exception, match="unknown URL argument 'widget_key'"):
        _value(route, "widget_key", "/customers/", {})


def test_the_walk_sees_every_kind_of_url():
    # the generator itself: pages, the API with its format-suffix variants, the admin
    texts = {route.text for route in ROUTES}
    assert "customers/<int:pk>/" in texts
    assert any(text.endswith(r"consent\.(?P<format>[a-z0-9]+)/?$") for text in texts)
    assert any(route.admin for route in ROUTES) and any(route.api for route in ROUTES)
    # every URL is asked at least one method (a view that serves none would be left out silently)
    assert [route.text for route in ROUTES if not route.methods()] == []
    # and the public allow-list names URLs that exist
    assert set(PUBLIC) <= {route.name for route in ROUTES}
