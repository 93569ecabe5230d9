"""The role table of SPEC "Who uses it", enforced in this one place.

Each action names the roles allowed to do it. Pages use ``RoleRequiredMixin``,
the API uses ``HasAction``, and services may call ``require(user, action)``.
Read-only ("r" in the SPEC) entries are the ``*.view`` actions.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADVISOR = "advisor", _("Service advisor")
    AGENT = "agent", _("Call-centre agent")
    CC_MANAGER = "cc_manager", _("Call-centre manager")
    AS_MANAGER = "as_manager", _("After-sales manager")
    ADMIN = "admin", _("Administrator")


ALL = frozenset(Role.values)
MANAGERS = frozenset({Role.AS_MANAGER, Role.ADMIN})

PERMISSIONS: dict[str, frozenset[str]] = {
    "customer.view": ALL,
    "customer.edit": frozenset({Role.ADVISOR, Role.AS_MANAGER, Role.ADMIN}),
    "customer.consent": ALL,
    "coupon.redeem": frozenset({Role.ADVISOR, Role.AS_MANAGER, Role.ADMIN}),
    "appointment.arrival": frozenset({Role.ADVISOR, Role.AS_MANAGER, Role.ADMIN}),
    "dms.import": MANAGERS,
    "segmentation.view": ALL,
    "segmentation.manage": MANAGERS,
    "campaign.view": ALL,
    "campaign.manage": MANAGERS,
    "calllist.manage": frozenset({Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}),
    "calls.work": frozenset({Role.AGENT, Role.CC_MANAGER}),
    "complaint.view": ALL,
    "complaint.manage": MANAGERS,
    # Opening a complaint: whoever hears it (the advisor at the counter, an agent on a call, a manager).
    "complaint.open": ALL,
    # Follow-ups: the overview of touches (due, overdue, done, skipped; per kind and agent) for the managers of
    # the call centre and after-sales; message templates and the follow-up settings for the after-sales side.
    "followups.overview": frozenset({Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}),
    "followups.manage": MANAGERS,
    "reports.view": frozenset({Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}),
    "reports.all": frozenset({Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}),
    # Whole-store lists of customers leaving the app (CSV, XLSX, the API's bulk lists): the SPEC's "exports of
    # personal data" row, where the agent's "own figures" are no export of the store's customers.
    "exports.personal": frozenset({Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}),
    # The API's schema and its browsable docs: for the managers and administrators who set up REST clients.
    "api.docs": frozenset({Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}),
    # A full phone number, shown on purpose (a click, an API field asked for) and logged: the advisor at the
    # counter and the managers. The agent sees the number of the customer they are calling on the workbench
    # (calls.work, their own call), never through this action.
    "phone.reveal": frozenset({Role.ADVISOR, Role.CC_MANAGER, Role.AS_MANAGER}),
    # Customers' rights (PIPL): their data exported or erased on request, duplicates merged, the retention review.
    "privacy.manage": MANAGERS,
    "staff.manage": frozenset({Role.ADMIN}),
    # The audit trail (SPEC: the administrator's): who changed a record, when, old → new; and the access log of
    # personal data (reveals, exports, data-subject actions, failed sign-ins, token changes).
    "audit.view": frozenset({Role.ADMIN}),
}


def can(user, action: str) -> bool:
    """Whether ``user`` may perform ``action`` (a key of ``PERMISSIONS``)."""
    if action not in PERMISSIONS:
        raise KeyError(f"Unknown action {action!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in PERMISSIONS[action]
