"""A customer's full phone number, shown on purpose and logged (PIPL: least access).

Everywhere else a number is masked (``dealercrm.core.privacy.mask_phone``: 138****1234). The full number is
an explicit action, and each one is an access event (``dealercrm.core.access_log``):

* the advisor at the counter and the managers (``phone.reveal``): a click on the 360 page, ``?reveal=phone``
  on the API's customer, ``POST …/reveal-phone/``;
* the agent working a call: their own call card shows the number of the customer they are calling
  (``campaigns``/``followups`` call this with ``via`` naming the call).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from dealercrm.core import access_log
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.roles import can

from . import phones


def may_reveal(user) -> bool:
    return can(user, "phone.reveal")


def phone_reveal(*, customer, user, via: str, request=None, check_role: bool = True) -> str:
    """The customer's full number (national digits as dialled, e.g. ``13812345678``), logged as one access
    event naming ``via`` (the page, the API, the call). ``check_role=False`` is for the call card, whose own
    rule (the agent's own call) was checked by the caller."""
    if check_role and not may_reveal(user):
        raise PermissionError("phone.reveal")
    if not customer.phone:
        raise ApplicationError(_("This customer has no phone number on file."), code="no_phone")
    access_log.record(
        access_log.Kind.REVEAL,
        user=user,
        dealership=customer.dealership,
        customer=customer,
        what=via,
        request=request,
    )
    return phones.national_digits(customer.phone)
