# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""The follow-up cards' reads on the customer 360 page, in hand-written statements: the answers of
``selectors.customer_touches``, ``customer_surveys`` and ``customer_complaints``.

As for the page's own reads (``customers.page360``, whose docstring says why): the selectors stay the
definitions, and ``tests/followups/test_page360.py`` holds these statements to their answers. The touches'
two lists (still to happen, soonest first; the latest that happened or stopped) come in one statement.
"""

from __future__ import annotations

import functools

from django.db import connection

from dealercrm.core import sqlread
from dealercrm.core.models import Dealership, User

from .complaints import visible_only_on_visits_of
from .models import Complaint, Survey, Touch
from .selectors import CARD_ROWS, CARD_TOUCH_FIELDS, with_reason_words

_USER_FIELDS = tuple(name.removeprefix("assignee__") for name in CARD_TOUCH_FIELDS if name.startswith("assignee__"))
TOUCHES = (
    (Touch, "t", tuple(name for name in CARD_TOUCH_FIELDS if not name.startswith("assignee__"))),
    (User, "u", _USER_FIELDS),
)
SURVEYS = ((Survey, "s"),)
COMPLAINTS = ((Complaint, "c"),)


def _in(name: str, values) -> tuple[str, dict]:
    """``IN (…)`` of our own constants as named parameters ``name0``, ``name1``…"""
    params = {f"{name}{index}": str(value) for index, value in enumerate(values)}
    return ", ".join(f"%({key})s" for key in params), params


@functools.cache
def _statements(vendor: str) -> tuple[dict[str, str], dict]:
    pending, pending_params = _in("pending", Touch.PENDING)
    open_states, open_params = _in("open", Complaint.OPEN_STATES)
    touches = f"""
        SELECT {sqlread.columns(TOUCHES)}, %(part)s FROM followups_touch t LEFT JOIN core_user u ON u.id = t.assignee_id
        WHERE t.dealership_id = %(dealership)s AND t.customer_id = %(customer)s AND t.status {{op}} ({pending})
        ORDER BY t.due_at {{direction}}, t.id {{direction}} LIMIT %(rows)s
    """
    statements = {
        # ``SELECT *`` of each limited list: a LIMIT inside a compound SELECT needs its own subquery on SQLite.
        "touches": (
            "SELECT * FROM ({}) due UNION ALL SELECT * FROM ({}) recent".format(
                touches.format(op="IN", direction="ASC").replace("%(part)s", "0"),
                touches.format(op="NOT IN", direction="DESC").replace("%(part)s", "1"),
            )
        ),
        "surveys": f"""
            SELECT {sqlread.columns(SURVEYS)} FROM followups_survey s
            WHERE s.dealership_id = %(dealership)s AND s.customer_id = %(customer)s
            ORDER BY s.sent_at DESC, s.id DESC LIMIT %(rows)s
        """,
        "complaints": f"""
            SELECT {sqlread.columns(COMPLAINTS)} FROM followups_complaint c
            LEFT JOIN customers_servicevisit v ON v.id = c.visit_id
            WHERE c.dealership_id = %(dealership)s AND c.customer_id = %(customer)s
              AND (%(advisor)s IS NULL OR v.advisor_id = %(advisor)s)
            ORDER BY CASE WHEN c.status IN ({open_states}) THEN 0 ELSE 1 END, c.opened_at DESC, c.id DESC
            LIMIT %(rows)s
        """,
    }
    return statements, {**pending_params, **open_params}


def _params(dealership: Dealership, customer, **extra) -> tuple[dict[str, str], dict]:
    statements, constants = _statements(connection.vendor)
    return statements, {**constants, "dealership": dealership.pk, "customer": customer.pk, "rows": CARD_ROWS, **extra}


def customer_touches(*, dealership: Dealership, customer) -> dict:
    """``selectors.customer_touches``: ``due`` and ``recent``, each touch with its assignee and reason words."""
    statements, params = _params(dealership, customer)
    due, recent = [], []
    with connection.cursor() as cursor:
        for (touch, assignee), (part,) in sqlread.fetch(cursor, statements["touches"], params, TOUCHES):
            touch.assignee = assignee
            touch.customer = customer
            (recent if part else due).append(touch)
    due.sort(key=lambda touch: (touch.due_at, touch.pk))
    recent.sort(key=lambda touch: (touch.due_at, touch.pk), reverse=True)
    return {"due": with_reason_words(due), "recent": with_reason_words(recent)}


def customer_surveys(*, dealership: Dealership, customer) -> list[Survey]:
    """``selectors.customer_surveys``: the latest surveys, newest first."""
    statements, params = _params(dealership, customer)
    with connection.cursor() as cursor:
        surveys = [survey for (survey,), _extra in sqlread.fetch(cursor, statements["surveys"], params, SURVEYS)]
    for survey in surveys:
        survey.customer = customer
    return surveys


def customer_complaints(*, dealership: Dealership, customer, user=None) -> list[Complaint]:
    """``selectors.customer_complaints``: those ``user`` may read, open ones first, then the latest."""
    statements, params = _params(dealership, customer, advisor=visible_only_on_visits_of(user))
    with connection.cursor() as cursor:
        rows = sqlread.fetch(cursor, statements["complaints"], params, COMPLAINTS)
    complaints = [complaint for (complaint,), _extra in rows]
    for complaint in complaints:
        complaint.customer = customer
    return complaints
