"""Every read of the dealership's administration, scoped to the administrator's own dealerships.

A user is the administrator's to see when they are a member of one of the administrator's dealerships
and are not one of the platform's operators (staff or superuser); anyone else is "not found" (404).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from ..models import AccessEvent, ApiToken, Dealership, Membership, User
from ..roles import Role
from ..tenancy import user_dealerships


def admin_dealerships(admin: User) -> QuerySet[Dealership]:
    return user_dealerships(admin)


def staff_list(*, admin: User, dealership: Dealership) -> QuerySet[User]:
    """The users of ``dealership`` (one of the administrator's), each with their memberships of the
    administrator's dealerships (``my_memberships``)."""
    mine = Membership.objects.filter(dealership__in=admin_dealerships(admin)).select_related("dealership")
    return (
        User.objects.filter(is_superuser=False, is_staff=False, memberships__dealership=dealership)
        .prefetch_related(Prefetch("memberships", queryset=mine.order_by("dealership__code"), to_attr="my_memberships"))
        .order_by("username")
    )


def _get_or_404(queryset, **lookup):
    """The one row, else 404, also for a malformed key (``/users/abc/``), never a 500."""
    try:
        return get_object_or_404(queryset, **lookup)
    except (TypeError, ValueError, ValidationError):
        raise Http404 from None


def staff_get(*, admin: User, dealership: Dealership, pk) -> User:
    return _get_or_404(staff_list(admin=admin, dealership=dealership), pk=pk)


def works_elsewhere(*, admin: User, user: User) -> bool:
    """Whether ``user`` also belongs to a dealership ``admin`` does not run (their role, password, access and
    tokens are then not this administrator's to change)."""
    return user.memberships.exclude(dealership__in=admin_dealerships(admin)).exists()


def wholly_administered(users: QuerySet[User], *, admin: User) -> QuerySet[User]:
    """Those of ``users`` all of whose dealerships ``admin`` runs (the users they may issue tokens for)."""
    elsewhere = Dealership.objects.exclude(pk__in=admin_dealerships(admin).values("pk"))
    return users.exclude(memberships__dealership__in=elsewhere)


def token_list(*, dealership: Dealership, user: User | None = None) -> QuerySet[ApiToken]:
    """Tokens of the users of ``dealership`` (of ``user`` when given), newest first; expired ones included."""
    tokens = ApiToken.objects.filter(
        user__memberships__dealership=dealership, user__is_superuser=False, user__is_staff=False
    )
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.select_related("user", "created_by").order_by("-created")


def token_get(*, dealership: Dealership, token_key: str) -> ApiToken:
    """A token by its public prefix (``token_key``); the digest never leaves the server."""
    return _get_or_404(token_list(dealership=dealership), token_key=token_key)


# --- The audit trail -----------------------------------------------------------------------------------

REASONS = {
    "created": _("created"),
    "password reset": _("password reset"),
    "deactivated": _("deactivated"),
    "reactivated": _("reactivated"),
    "revoked": _("revoked"),
}
KINDS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


@dataclass
class Change:
    field: str
    label: str
    old: object
    new: object


def _shown(field: str, value):
    """A value as a person reads it: a role's name, yes/no."""
    if value is None:
        return None
    if field == "role":
        return Role(value).label if value in Role.values else value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


def _change(model, field: str, old, new) -> Change:
    return Change(field, model._meta.get_field(field).verbose_name, _shown(field, old), _shown(field, new))


@dataclass
class AuditEvent:
    when: datetime
    who: User | None
    what: str  # the kind of record: user, membership, ...
    record: str  # which record
    kind: str  # created / changed / deleted (translated)
    reason: str
    changes: list[Change]


def _audited_user_ids(dealership: Dealership):
    """Users who ever belonged to ``dealership`` (a removed member's past stays visible)."""
    return Membership.history.filter(dealership_id=dealership.pk).values("user_id")


def _scoped_histories(dealership: Dealership):
    """(label, history queryset, how to name a row, fields to compare) of each audited model."""
    mine = [dealership.pk]
    users = _audited_user_ids(dealership)
    return [
        (
            _("user"),
            User.history.filter(id__in=users),
            lambda row: row.username,
            ["username", "display_name", "role", "is_active", "first_name", "last_name", "email"],
        ),
        (
            _("membership"),
            Membership.history.filter(dealership_id__in=mine).select_related("user", "dealership"),
            lambda row: (
                f"{row.user.username if row.user else row.user_id} @ "
                f"{row.dealership.code if row.dealership else row.dealership_id}"
            ),
            [],  # created or deleted: the record's name says which user and which dealership
        ),
        (
            _("dealership"),
            Dealership.history.filter(id__in=mine),
            lambda row: row.code,
            ["code", "name", "city", "plate_prefix", "time_zone", "is_active", "consent_text"],
        ),
        (
            _("API token"),
            ApiToken.history.filter(user_id__in=users).select_related("user"),
            lambda row: f"{row.name} ({row.token_key[:8]}…) · {row.user.username if row.user else row.user_id}",
            ["name", "expiry"],
        ),
    ]


def audit_events(*, dealership: Dealership, limit: int = 200) -> list[AuditEvent]:
    """The latest ``limit`` changes to ``dealership``, its users, memberships and their tokens.

    Two queries per audited model: its latest rows, and every earlier row of the same records (to tell
    old from new), paired in memory.
    """
    events: list[AuditEvent] = []
    for label, history, name_of, fields in _scoped_histories(dealership):
        latest = list(history.select_related("history_user").order_by("-history_date", "-history_id")[:limit])
        if not latest:
            continue
        model = history.model.instance_type
        pk_name = model._meta.pk.attname
        ids = {getattr(row, pk_name) for row in latest}
        every = history.model.objects.filter(**{f"{pk_name}__in": ids}).order_by(pk_name, "history_date", "history_id")
        previous = {}
        for _pk, rows in groupby(every, key=lambda row: getattr(row, pk_name)):
            before = None
            for row in rows:
                previous[row.history_id] = before
                before = row
        for row in latest:
            before = previous.get(row.history_id)
            changes = []
            if row.history_type == "~" and before is not None:
                changes = [
                    _change(model, field, getattr(before, field), getattr(row, field))
                    for field in fields
                    if getattr(before, field) != getattr(row, field)
                ]
            elif row.history_type == "+":
                changes = [
                    _change(model, field, None, getattr(row, field))
                    for field in fields
                    if getattr(row, field) not in (None, "")
                ]
            reason = row.history_change_reason or ""
            if row.history_type == "+" and reason == "created":
                reason = ""  # the kind says it already
            if row.history_type == "~" and not changes and not reason:
                continue  # a save that changed nothing shown here (e.g. only the password's hash, by the user)
            events.append(
                AuditEvent(
                    when=row.history_date,
                    who=row.history_user,
                    what=str(label),
                    record=name_of(row),
                    kind=str(KINDS.get(row.history_type, row.history_type)),
                    reason=str(REASONS.get(reason, reason)),
                    changes=changes,
                )
            )
    events.sort(key=lambda event: event.when, reverse=True)
    return events[:limit]


# --- The access log (PIPL) ------------------------------------------------------------------------------

#: the digits of a customer id typed in the customer filter (beyond: not an id, a bigint's range)
_ID_DIGITS = 18


def access_log(*, dealership: Dealership) -> QuerySet[AccessEvent]:
    """The access events of ``dealership``, newest first: those written in it, and those written in none
    (a failed sign-in, a token issued at the token endpoint) that concern one of its users, by user or by the
    username tried."""
    members = Membership.objects.filter(dealership=dealership)
    usernames = User.objects.filter(memberships__dealership=dealership).values("username")
    concerns_a_member = Q(user_id__in=members.values("user_id")) | Q(user__isnull=True, username__in=usernames)
    mine = Q(dealership=dealership) | (Q(dealership__isnull=True) & concerns_a_member)
    return AccessEvent.objects.filter(mine).order_by("-occurred_at", "-id")


def access_log_users(*, dealership: Dealership) -> QuerySet[User]:
    """Whom the access log may be filtered by: the dealership's users."""
    return User.objects.filter(memberships__dealership=dealership).order_by("username")


def _customers():
    return apps.get_model("customers", "Customer")


def customer_ids(*, dealership: Dealership, text: str) -> set[int]:
    """The customers a filter's text names: the customer of ``dealership`` with that customer number, and the
    id itself when the text is a number (an erased or merged customer's events keep its id)."""
    text = (text or "").strip()
    if not text:
        return set()
    ids = set(_customers().objects.filter(dealership=dealership, customer_no=text).values_list("pk", flat=True))
    if text.isdigit() and len(text) <= _ID_DIGITS:
        ids.add(int(text))
    return ids


@dataclass
class CustomerShown:
    id: int
    exists: bool = False
    erased: bool = False
    name: str = ""
    customer_no: str = ""

    @property
    def label(self) -> str:
        if self.exists and not self.erased:
            return f"{self.name} ({self.customer_no})"
        return f"#{self.id}"


def customers_shown(*, dealership: Dealership, ids) -> dict[int, CustomerShown]:
    """How each customer id of some events is shown, in one query: the customer's current name and number if
    they are still a customer of ``dealership``, nothing of an erased customer (no identity), only the id of
    one that is gone (merged away)."""
    ids = {i for i in ids if i is not None}
    shown = {i: CustomerShown(id=i) for i in ids}
    if not ids:
        return shown
    rows = (
        _customers()
        .objects.filter(dealership=dealership, pk__in=ids)
        .values_list("pk", "name", "customer_no", "erased_at")
    )
    for pk, name, customer_no, erased_at in rows:
        erased = erased_at is not None
        shown[pk] = CustomerShown(
            id=pk, exists=True, erased=erased, name="" if erased else name, customer_no="" if erased else customer_no
        )
    return shown


def access_log_filtered(
    *,
    dealership: Dealership,
    user: User | None = None,
    customer: str = "",
    kind: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AccessEvent]:
    """``access_log`` filtered: by user, customer (number or id), kind, and days at the store (both included)."""
    events = access_log(dealership=dealership)
    if user is not None:
        events = events.filter(user=user)
    if customer:
        events = events.filter(customer_id__in=customer_ids(dealership=dealership, text=customer))
    if kind:
        events = events.filter(kind=kind)
    zone = dealership.zone
    if date_from:
        events = events.filter(occurred_at__gte=datetime.combine(date_from, time.min, tzinfo=zone))
    if date_to:
        events = events.filter(occurred_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone))
    return events


def distinct_customers(events: QuerySet[AccessEvent]) -> int:
    """How many different customers ``events`` name (one query)."""
    return events.exclude(customer_id=None).order_by().values("customer_id").distinct().count()
