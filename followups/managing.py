"""The writes of the follow-up pages and API: cancelling a touch by hand, message templates, the store's settings.

Services in the codebase's shape (keyword-only, ``@transaction.atomic``, refusing with a stable code); message
templates and the settings keep their history (``AuditedHistory``), recorded as ``acting_user``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from dealercrm.core.audit import acting_as, audited
from dealercrm.core.exceptions import StateConflict
from dealercrm.core.models import Dealership

from .models import FollowupPolicy, MessageTemplate, Touch
from .reasons import reason_text
from .stops import cancel_pending

TEMPLATE_FIELDS = (
    "kind",
    "channel",
    "language",
    "subject",
    "body",
    "signature",
    "provider_template_code",
    "active",
)
POLICY_FIELDS = (
    "send_from",
    "send_until",
    "channel_windows",
    "marketing_cap",
    "cap_days",
    "when_capped",
    "followup_visit_types",
    "reminder_message_days",
    "reminder_call_days",
    "complaint_response_hours",
    "complaint_resolution_days",
    "business_from",
    "business_until",
    "business_days",
)


@audited
@transaction.atomic
def touch_cancel(*, touch: Touch, acting_user=None) -> Touch:
    """Cancel a touch still to happen (reason ``cancelled_by_user``, naming who); a touch that has been sent,
    done or stopped meanwhile is refused with 409 (``touch_not_pending``)."""
    who = str(acting_user) if acting_user else ""
    detail = f"{reason_text('cancelled_by_user')} ({who})" if who else ""
    if not cancel_pending(Touch.objects.filter(pk=touch.pk), reason="cancelled_by_user", detail=detail):
        touch.refresh_from_db()
        raise StateConflict(
            _("This touch is no longer pending (now: %(status)s): there is nothing to cancel.")
            % {"status": touch.get_status_display()},
            code="touch_not_pending",
        )
    touch.refresh_from_db()
    return touch


def template_check(*, dealership: Dealership, kind: str, channel: str, body: str, subject: str = "") -> None:
    """The dispatcher's check of a template's text (``followups.messaging.template_check``): unknown
    variables and banned expressions raise ``ValidationError`` with field errors."""
    from .messaging import template_check as check

    check(dealership=dealership, kind=kind, channel=channel, body=body, subject=subject)


def _template_save(template: MessageTemplate, acting_user) -> MessageTemplate:
    template_check(
        dealership=template.dealership,
        kind=template.kind,
        channel=template.channel,
        body=template.body,
        subject=template.subject,
    )
    template.full_clean()
    with acting_as(acting_user):
        template.save()
    return template


@transaction.atomic
def message_template_create(*, dealership: Dealership, acting_user=None, **fields) -> MessageTemplate:
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fields {sorted(unknown)}")
    return _template_save(MessageTemplate(dealership=dealership, **fields), acting_user)


@transaction.atomic
def message_template_update(*, template: MessageTemplate, acting_user=None, **changes) -> MessageTemplate:
    unknown = set(changes) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fields {sorted(unknown)}")
    for name, value in changes.items():
        setattr(template, name, value)
    return _template_save(template, acting_user)


@transaction.atomic
def message_template_delete(*, template: MessageTemplate, acting_user=None) -> None:
    with acting_as(acting_user):
        template.delete()


def _check_window(value, name: str) -> None:
    if value and value[0] >= value[1]:
        raise ValidationError({name: ValidationError(_("“From” must come before “until”."), code="window_order")})


@transaction.atomic
def followup_policy_update(*, dealership: Dealership, acting_user=None, **changes) -> FollowupPolicy:
    """Create or change the store's follow-up settings (audited)."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fields {sorted(unknown)}")
    policy = FollowupPolicy.objects.select_for_update().filter(dealership=dealership).first()
    policy = policy or FollowupPolicy(dealership=dealership)
    for name, value in changes.items():
        setattr(policy, name, value)
    _check_window((policy.send_from, policy.send_until), "send_until")
    _check_window((policy.business_from, policy.business_until), "business_until")
    for channel, window in (policy.channel_windows or {}).items():
        if not (isinstance(window, list | tuple) and len(window) == 2 and window[0] < window[1]):
            raise ValidationError(
                {
                    "channel_windows": ValidationError(
                        _("The sending hours of %(channel)s must be a start before an end (HH:MM)."),
                        code="window_order",
                        params={"channel": channel},
                    )
                }
            )
    if policy.marketing_cap and not policy.cap_days:
        raise ValidationError({"cap_days": ValidationError(_("Give the cap's period in days."), code="required")})
    bad_days = [d for d in policy.business_days or [] if d not in range(1, 8)]
    if bad_days:
        raise ValidationError(
            {"business_days": ValidationError(_("Working days are 1 (Monday) to 7 (Sunday)."), code="invalid")}
        )
    policy.full_clean()
    with acting_as(acting_user):
        policy.save()
    return policy
