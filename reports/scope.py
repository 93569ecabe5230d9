"""Whose figures a report shows: one dealership, all of a group manager's dealerships, or an agent's own.

``Scope.for_request(request)`` is the one place that decides it:

* the request's dealership (``dealercrm.core.tenancy``: ``?dealership=CODE``, the header's switcher…);
* ``?stores=all``: every dealership of the user's, for a user whose role may read whole-store reports
  (``reports.all``) and who belongs to more than one (a group manager); asked by anyone else, it is refused
  (403), never quietly narrowed;
* an agent (``reports.view`` but not ``reports.all``) reads only their own figures: ``agent_id`` is theirs,
  and every figure that can be split by agent is restricted to the invitations and touches on their list.

Reports filter with ``scope.dealership_ids`` (``dealership_id__in``) and, where figures belong to agents,
``scope.agent_id``. A campaign or any other record in a report's parameters is looked up within the scope:
another dealership's id answers 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from dealercrm.core.models import Dealership
from dealercrm.core.roles import can
from dealercrm.core.tenancy import request_dealerships, resolve_dealership

ALL_STORES = "all"


@dataclass(frozen=True)
class Scope:
    user: object
    dealerships: tuple[Dealership, ...]
    #: set for an agent: only their own figures
    agent_id: int | None = None

    @property
    def dealership_ids(self) -> list[int]:
        return [dealership.pk for dealership in self.dealerships]

    @property
    def is_group(self) -> bool:
        return len(self.dealerships) > 1

    @property
    def dealership(self) -> Dealership:
        """The first (for one store, the) dealership: its time zone and calendar stand for the scope's."""
        return self.dealerships[0]

    @property
    def zone(self):
        return self.dealership.zone

    def today(self, now: dt.datetime | None = None) -> dt.date:
        return self.dealership.local_date(now)

    def as_params(self) -> dict[str, str]:
        """The query parameters that give this scope back (links, drill-downs, exports)."""
        if self.is_group:
            return {"stores": ALL_STORES}
        return {"dealership": self.dealership.code}

    @classmethod
    def for_request(cls, request, *, dealership: Dealership | None = None) -> Scope:
        user = request.user
        agent_id = None if can(user, "reports.all") else user.pk
        if (request.GET.get("stores") or "").strip().lower() == ALL_STORES:
            mine = tuple(request_dealerships(request))
            if agent_id is not None or len(mine) < 2:
                raise PermissionDenied(_("Only a manager of several dealerships reads their figures together."))
            return cls(user=user, dealerships=mine)
        current = dealership or resolve_dealership(request)
        if current is None:
            raise PermissionDenied(_("You belong to no dealership."))
        return cls(user=user, dealerships=(current,), agent_id=agent_id)

    @classmethod
    def of(cls, *dealerships: Dealership, user=None, agent_id: int | None = None) -> Scope:
        """A scope built by hand (jobs, tests, the weekly pack)."""
        return cls(user=user, dealerships=tuple(dealerships), agent_id=agent_id)
