"""Entering a past campaign: one that ran before the CRM was in use, so that its report compares with later ones.

A manager gives the campaign's real dates (its last day before today), its code, name, type, budget and cost,
and its invitation list as a file (CSV, UTF-8 with or without BOM, or XLSX; the first sheet) with a header row:

* ``客户编号`` or ``customer_no`` (required): the customer number of each invitee, one a line;
* ``目标群组`` or ``target_group`` (optional): the name of the invitee's target group; without the column, or on
  a line where it is empty, the invitee is in the first group given (by default one group named "Invited");
* ``坐席`` or ``agent`` (optional): the username of the agent who called them (an agent of the dealership).

Target groups are given with the campaign (``groups``: names with optional filters, as a generated list's
groups); a group name in the file that is not among them is created without filters. Each invitation's vehicle is
found as for a generated list (``targeting.invitation_vehicles``: the vehicle meeting the group's vehicle
conditions, on the campaign's first day; without them the customer's first vehicle), and with it the age band the
reports show. A customer the group's vehicle conditions do not match is invited through their first vehicle
(the list was the dealership's, not ours to re-check).

A file with unknown customer numbers (or agents, or a customer twice) is refused with every such line listed,
and nothing is imported, unless ``skip_unknown`` is set: then the unknown customer numbers are left out (and
counted in the result). Everything is one transaction: the campaign, its groups and its list, or nothing.
The campaign is created finished; its history records who entered it and how many invitations it holds.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from customers.models import Customer
from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.models import Dealership

from .models import Campaign, Invitation, TargetGroup
from .services import CAMPAIGN_FIELDS, _full_clean, _save_campaign, _user, agents_of
from .targeting import invitation_vehicles

CUSTOMER_HEADERS = ("客户编号", "customer_no")
GROUP_HEADERS = ("目标群组", "target_group")
AGENT_HEADERS = ("坐席", "agent")
#: the most invitations one file may hold
MAX_ROWS = 200_000
#: customer numbers looked up per query (SQLite takes at most 32,766 parameters a statement)
CHUNK = 5_000


@dataclass
class ListRow:
    line: int
    customer_no: str
    group: str = ""
    agent: str = ""


@dataclass
class ListProblems:
    """What is wrong with a file, by line: ``unknown`` customer numbers (skippable), and ``errors`` that are not
    (a customer twice, an unknown agent, an empty customer number). ``as_fields``: the API's ``extra`` keys."""

    unknown: list[tuple[int, str]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_fields(self) -> dict:
        return {
            "unknown_customers": [{"line": line, "customer_no": no} for line, no in self.unknown],
            "lines": [{"line": line, "message": message} for line, message in self.errors],
        }


def _header_index(header: list[str], names) -> int | None:
    cleaned = [str(cell or "").strip().lstrip("\ufeff").lower() for cell in header]
    for name in names:
        if name.lower() in cleaned:
            return cleaned.index(name.lower())
    return None


def read_list(upload) -> list[ListRow]:
    """The rows of an invitation-list file (a file object with ``name``; CSV or XLSX), line numbers as the
    spreadsheet shows them (the header is line 1). Refused: an unreadable file, no customer-number column."""
    name = (getattr(upload, "name", "") or "").lower()
    raw = upload.read()
    if isinstance(raw, str):
        raw = raw.encode()
    if name.endswith(".xlsx") or raw[:2] == b"PK":
        table = _xlsx_rows(raw)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("gb18030")
            except UnicodeDecodeError:
                raise ApplicationError(
                    _("The file is neither UTF-8 nor GB18030 text, nor an Excel (.xlsx) file."),
                    code="list_unreadable",
                    fields={"file": [_("Unreadable file.")]},
                ) from None
        try:
            table = list(csv.reader(io.StringIO(text)))
        except csv.Error:  # a NUL byte, a field beyond the csv module's limit
            raise ApplicationError(
                _("The file is not a readable CSV file."),
                code="list_unreadable",
                fields={"file": [_("Unreadable file.")]},
            ) from None
    if not table:
        raise ApplicationError(_("The file is empty."), code="list_empty", fields={"file": [_("Empty file.")]})
    header = table[0]
    customer_at = _header_index(header, CUSTOMER_HEADERS)
    if customer_at is None:
        raise ApplicationError(
            _("The file has no column 客户编号 (customer_no) in its first row."),
            code="list_no_customer_column",
            fields={"file": [_("No column 客户编号 (customer_no).")]},
        )
    group_at, agent_at = _header_index(header, GROUP_HEADERS), _header_index(header, AGENT_HEADERS)
    rows = []
    for line, cells in enumerate(table[1:], start=2):
        cells = [str(cell).strip() if cell is not None else "" for cell in cells]
        if not any(cells):
            continue

        def cell(at, cells=cells):
            return cells[at] if at is not None and at < len(cells) else ""

        value = cell(customer_at)
        if value.endswith(".0") and value[:-2].isdigit():  # a number Excel kept as a float
            value = value[:-2]
        rows.append(ListRow(line, value, cell(group_at), cell(agent_at)))
    if len(rows) > MAX_ROWS:
        raise ApplicationError(
            _("The file has %(n)s lines; at most %(max)s at a time.") % {"n": len(rows), "max": MAX_ROWS},
            code="list_too_long",
            fields={"file": [_("Too many lines.")]},
        )
    if not rows:
        raise ApplicationError(
            _("The file lists no customer."), code="list_empty", fields={"file": [_("No customer.")]}
        )
    return rows


def _xlsx_rows(raw: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # any unreadable workbook is the same refusal
        raise ApplicationError(
            _("The file is not a readable Excel (.xlsx) file."),
            code="list_unreadable",
            fields={"file": [_("Unreadable file.")]},
        ) from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def check_list(*, dealership: Dealership, rows: list[ListRow]) -> tuple[dict[str, int], dict[str, int], ListProblems]:
    """Customer numbers → customer ids, agent usernames → ids, and the problems by line. A query per
    ``CHUNK`` customer numbers, one for the agents."""
    problems = ListProblems()
    numbers = sorted({row.customer_no for row in rows if row.customer_no})
    customers: dict[str, int] = {}
    for start in range(0, len(numbers), CHUNK):
        customers.update(
            Customer.objects.filter(dealership=dealership, customer_no__in=numbers[start : start + CHUNK]).values_list(
                "customer_no", "pk"
            )
        )
    names = {row.agent for row in rows if row.agent}
    agents = dict(agents_of(dealership).filter(username__in=names).values_list("username", "pk")) if names else {}
    seen: dict[str, int] = {}
    for row in rows:
        if not row.customer_no:
            problems.errors.append((row.line, _("No customer number.")))
            continue
        if row.customer_no not in customers:
            problems.unknown.append((row.line, row.customer_no))
        elif row.customer_no in seen:
            problems.errors.append(
                (
                    row.line,
                    _("Customer %(no)s is already on line %(line)s.")
                    % {"no": row.customer_no, "line": seen[row.customer_no]},
                )
            )
        else:
            seen[row.customer_no] = row.line
        if row.agent and row.agent not in agents:
            problems.errors.append((row.line, _("%(name)s is not an agent of this dealership.") % {"name": row.agent}))
    return customers, agents, problems


@audited
@transaction.atomic
def past_campaign_enter(
    *,
    dealership: Dealership,
    rows: list[ListRow],
    groups: list[dict] | None = None,
    skip_unknown: bool = False,
    acting_user=None,
    today: date | None = None,
    **fields,
) -> dict:
    """Create a finished campaign of ``dealership`` that ran before the CRM (``fields``: ``CAMPAIGN_FIELDS``;
    its last day before ``today``) with its target ``groups`` ([{"name": …, "filters": {…}}], in order) and its
    invitation list ``rows`` (``read_list``). Refused with the problems by line (``ApplicationError``
    ``list_unknown_customers`` or ``list_invalid``) and nothing written; unknown customers are left out with
    ``skip_unknown``. Returns {"campaign", "invited", "skipped", "per_group": {name: n}}."""
    unknown_fields = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown_fields:
        raise ApplicationError(
            _("Unknown field: %(names)s.") % {"names": ", ".join(sorted(unknown_fields))}, code="unknown_field"
        )
    today = today or dealership.local_date()
    fields["code"] = (fields.get("code") or "").strip().upper()
    campaign = Campaign(dealership=dealership, created_by=_user(acting_user), status=Campaign.Status.FINISHED, **fields)
    _full_clean(campaign, exclude=["dealership", "created_by"])
    if campaign.ends_on >= today:
        raise ApplicationError(
            _("A past campaign ended before today (%(today)s); this one ends on %(end)s.")
            % {"today": today, "end": campaign.ends_on},
            code="past_campaign_not_over",
            fields={"ends_on": [_("Not in the past.")]},
        )

    customers, agents, problems = check_list(dealership=dealership, rows=rows)
    if problems.errors or (problems.unknown and not skip_unknown):
        lines = problems.errors + [
            (line, _("Unknown customer number %(no)s.") % {"no": no}) for line, no in problems.unknown
        ]
        lines.sort()
        shown = "; ".join(_("line %(line)s: %(message)s") % {"line": line, "message": m} for line, m in lines[:20])
        more = len(lines) - 20
        raise ApplicationError(
            _("Nothing was imported. %(lines)s%(more)s")
            % {"lines": shown, "more": (_(" … and %(n)s more.") % {"n": more}) if more > 0 else ""},
            code="list_unknown_customers" if not problems.errors else "list_invalid",
            fields={"file": [_("line %(line)s: %(message)s") % {"line": line, "message": m} for line, m in lines]},
            extra=problems.as_fields(),
        )

    campaign._change_reason = "past campaign"
    campaign = _save_campaign(campaign)
    given = list(groups or []) or [{"name": pgettext("target group", "Invited")}]
    by_name: dict[str, TargetGroup] = {}
    for position, spec in enumerate(given, start=1):
        by_name[spec["name"].strip()] = _group(campaign, position, spec)
    for row in rows:
        if row.group and row.group not in by_name:
            by_name[row.group] = _group(campaign, len(by_name) + 1, {"name": row.group})
    first = next(iter(by_name.values()))

    members: dict[int, list[tuple[int, int | None]]] = {}
    for row in rows:
        customer_id = customers.get(row.customer_no)
        if customer_id is None:
            continue
        group = by_name[row.group] if row.group else first
        members.setdefault(group.pk, []).append((customer_id, agents.get(row.agent)))
    now = timezone.now()
    per_group, invited = {}, 0
    for group in by_name.values():
        listed = members.get(group.pk, [])
        vehicles = _vehicles(group, [customer_id for customer_id, _agent in listed])
        Invitation.objects.bulk_create(
            [
                Invitation(
                    campaign=campaign,
                    target_group=group,
                    customer_id=customer_id,
                    vehicle_id=vehicles.get(customer_id),
                    agent_id=agent_id,
                    created_at=now,
                )
                for customer_id, agent_id in listed
            ],
            batch_size=2000,
        )
        per_group[group.name] = len(listed)
        invited += len(listed)
    # Set-based, so no history row per invitation: the campaign's history records who entered the list.
    campaign._change_reason = f"past campaign list: +{invited}"[:100]
    campaign.save(update_fields=["updated_at"])
    return {"campaign": campaign, "invited": invited, "skipped": len(problems.unknown), "per_group": per_group}


def _group(campaign: Campaign, position: int, spec: dict) -> TargetGroup:
    group = TargetGroup(
        campaign=campaign,
        position=position,
        name=(spec.get("name") or "").strip(),
        filters=spec.get("filters") or {},
        goal_rate=spec.get("goal_rate"),
    )
    _full_clean(group, exclude=["campaign"])
    group.save()
    return group


def _vehicles(group: TargetGroup, customer_ids: list[int]) -> dict[int, int | None]:
    """The vehicle each of ``customer_ids`` is invited through in ``group`` (``invitation_vehicles``), falling
    back to their first vehicle when the group's vehicle conditions match none of theirs. A few queries per
    ``CHUNK`` customers."""
    found: dict[int, int | None] = {}
    plain = TargetGroup(campaign=group.campaign, filters={})
    for start in range(0, len(customer_ids), CHUNK):
        chunk = customer_ids[start : start + CHUNK]
        customers = Customer.objects.filter(pk__in=chunk)
        found.update(invitation_vehicles(group, customers).values_list("customer_id", "vehicle_id"))
        missing = [pk for pk in chunk if found.get(pk) is None]
        if missing:
            found.update(
                invitation_vehicles(plain, Customer.objects.filter(pk__in=missing)).values_list(
                    "customer_id", "vehicle_id"
                )
            )
    return found
