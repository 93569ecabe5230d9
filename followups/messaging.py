"""The texts of messages: per kind of touch, channel and language, with ``{variables}`` from a fixed list.

A store's own texts are ``MessageTemplate`` rows; a store without one for a kind gets the built-in text below
(English msgids, translated by gettext: zh-hans in the catalogue). ``template_check`` is the check every way
of saving a template calls (the template pages and API, and a ``pre_save`` guard in ``followups.receivers``):
a variable not in the kind's list is refused (``unknown_variable``), and so is an absolute expression the
Advertising Law bans (``campaigns.compliance``, ``banned_expressions``). ``render`` fills a template for a
touch at the moment of sending.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from dealercrm.core.exceptions import ApplicationError

from .models import MessageTemplate, Touch

Kind = Touch.Kind

VARIABLE = re.compile(r"\{([^{}]*)\}")

_COMMON = ("customer_name", "dealership_name")
#: the variables a template of each kind may use
VARIABLES: dict[str, tuple[str, ...]] = {
    Kind.DAY_7: (*_COMMON, "plate", "visit_date"),
    Kind.DAY_15: (*_COMMON, "plate", "visit_date"),
    Kind.DAY_30: (*_COMMON, "plate", "visit_date"),
    Kind.SATISFACTION: (*_COMMON, "plate", "visit_date"),
    Kind.CAMPAIGN_SATISFACTION: (*_COMMON, "plate", "campaign_name"),
    Kind.SURVEY: (*_COMMON, "plate", "visit_date", "link"),
    Kind.DUE_MESSAGE: (*_COMMON, "plate", "due_date"),
    Kind.DUE_CALL: (*_COMMON, "plate", "due_date"),
    # a birthday text with the store's offer (FollowupPolicy.birthday_offer) names it and its coupon's code
    Kind.BIRTHDAY: (*_COMMON, "offer", "coupon_code", "coupon_expires"),
    Kind.WAKE_UP: (*_COMMON, "plate"),
    Kind.COMPLAINT: _COMMON,
    Kind.INVITATION: (*_COMMON, "plate", "campaign_name", "link"),
}

#: the built-in texts: (subject, body) per kind
DEFAULTS = {
    Kind.DAY_7: (
        _("How is your car after its service?"),
        _(
            "Dear {customer_name}, it is a week since {plate} was serviced at {dealership_name} on {visit_date}. "
            "Is everything running well? Reply or call us if anything is not right."
        ),
    ),
    Kind.DAY_15: (
        _("Two weeks after your service"),
        _(
            "Dear {customer_name}, how has {plate} been since its service on {visit_date}? "
            "{dealership_name} is glad to help with anything you need."
        ),
    ),
    Kind.DAY_30: (
        _("A month after your service"),
        _(
            "Dear {customer_name}, a month has passed since {plate} was serviced at {dealership_name}. "
            "Thank you for your trust; we look forward to seeing you again."
        ),
    ),
    Kind.SATISFACTION: (
        _("How did we do?"),
        _("Dear {customer_name}, thank you for visiting {dealership_name} on {visit_date}. How satisfied were you?"),
    ),
    Kind.CAMPAIGN_SATISFACTION: (
        _("Thank you for coming to {campaign_name}"),
        _("Dear {customer_name}, thank you for joining {campaign_name} at {dealership_name}. How was it?"),
    ),
    Kind.SURVEY: (
        _("Tell us about your visit"),
        _(
            "Dear {customer_name}, thank you for visiting {dealership_name} on {visit_date}. "
            "Please tell us how we did (one minute): {link}"
        ),
    ),
    Kind.DUE_MESSAGE: (
        _("Your car's maintenance is due soon"),
        _(
            "Dear {customer_name}, {plate} is due for maintenance around {due_date}. "
            "Call {dealership_name} to book a time that suits you."
        ),
    ),
    Kind.DUE_CALL: (
        _("Your car's maintenance is due soon"),
        _("Dear {customer_name}, {plate} is due for maintenance around {due_date}."),
    ),
    Kind.BIRTHDAY: (
        _("Happy birthday"),
        _("Dear {customer_name}, everyone at {dealership_name} wishes you a happy birthday!"),
    ),
    Kind.WAKE_UP: (
        _("We miss you"),
        _(
            "Dear {customer_name}, it has been a while since we saw {plate} at {dealership_name}. "
            "We would be glad to check it over for you."
        ),
    ),
    Kind.COMPLAINT: (
        _("About your feedback"),
        _("Dear {customer_name}, {dealership_name} has received your feedback and is looking into it."),
    ),
    Kind.INVITATION: (
        _("An invitation from {dealership_name}"),
        _("Dear {customer_name}, {dealership_name} invites you to {campaign_name}. Details and booking: {link}"),
    ),
}


#: the built-in text of a birthday that carries the store's offer (marketing class)
BIRTHDAY_WITH_OFFER = (
    _("Happy birthday"),
    _(
        "Dear {customer_name}, everyone at {dealership_name} wishes you a happy birthday! Our gift: {offer}, "
        "coupon {coupon_code}, valid until {coupon_expires}."
    ),
)


def variables_in(text: str) -> list[str]:
    return VARIABLE.findall(text or "")


def template_check(*, dealership, kind: str, channel: str, body: str, subject: str = "") -> None:
    """Refuse a template's text (``ValidationError`` with field errors): a ``{variable}`` the kind does not
    offer (code ``unknown_variable``), or an expression the Advertising Law bans (``banned_expressions``)."""
    from campaigns import compliance

    if kind not in VARIABLES:
        raise ValidationError({"kind": ValidationError(_("Unknown kind of touch."), code="unknown_kind")})
    allowed = VARIABLES[kind]
    errors: dict[str, list[ValidationError]] = {}
    for name, text in (("subject", subject), ("body", body)):
        unknown = [v for v in dict.fromkeys(variables_in(text)) if v not in allowed]
        if unknown:
            errors.setdefault(name, []).append(
                ValidationError(
                    _("Unknown variable %(names)s: this kind of message may use %(allowed)s."),
                    code="unknown_variable",
                    params={
                        "names": ", ".join(f"{{{v}}}" for v in unknown),
                        "allowed": ", ".join(f"{{{v}}}" for v in allowed),
                    },
                )
            )
    banned, allowed_phrases = compliance.terms(dealership)
    for name, text in (("subject", subject), ("body", body)):
        findings = compliance.scan(text, str(_("the message text")), banned, allowed_phrases)
        if findings:
            errors.setdefault(name, []).append(
                ValidationError(
                    _("The text uses banned absolute expressions: %(list)s"),
                    code="banned_expressions",
                    params={"list": " ".join(f.message() for f in findings)},
                )
            )
    if errors:
        raise ValidationError(errors)


# --- rendering ---------------------------------------------------------------------------------------------


@dataclass
class Rendered:
    subject: str
    body: str
    template_code: str = ""
    signature: str = ""
    params: dict = field(default_factory=dict)
    link: str = ""


def templates_for(dealership_ids, language: str) -> dict[tuple[int, str, str], MessageTemplate]:
    """The stores' active templates in ``language`` by (dealership, kind, channel): one query."""
    rows = MessageTemplate.objects.filter(dealership_id__in=set(dealership_ids), language=language, active=True)
    return {(t.dealership_id, t.kind, t.channel): t for t in rows}


def _date(value: dt.date | None, language: str) -> str:
    if value is None:
        return ""
    if language.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def _absolute(link: str) -> str:
    if link and link.startswith("/"):
        return settings.SITE_URL.rstrip("/") + link
    return link


def link_for(touch: Touch, *, now: dt.datetime) -> str:
    """The customer's personal link of a survey or invitation touch (written by the surveys and invitations
    modules; absolute, from ``SITE_URL``)."""
    try:
        if touch.kind == Kind.SURVEY:
            from followups.surveys import survey_link_for_touch

            return _absolute(survey_link_for_touch(touch, now=now))
        if touch.kind == Kind.INVITATION:
            from campaigns.invites import invite_link_for_touch

            return _absolute(invite_link_for_touch(touch, now=now))
    except ImportError:  # the module is being written
        return settings.SITE_URL
    return ""


def _vehicle(touch: Touch):
    if touch.vehicle_id:
        return touch.vehicle
    if touch.visit_id:
        return touch.visit.vehicle
    if touch.invitation_id:
        return touch.invitation.vehicle
    return None


def values_for(touch: Touch, *, language: str, now: dt.datetime, names: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        if name == "customer_name":
            values[name] = touch.customer.name
        elif name == "dealership_name":
            values[name] = touch.dealership.name
        elif name == "plate":
            vehicle = _vehicle(touch)
            values[name] = (vehicle.plate or vehicle.vin) if vehicle is not None else ""
        elif name == "visit_date":
            values[name] = _date(touch.visit.opened_on if touch.visit_id else None, language)
        elif name == "due_date":
            try:
                values[name] = _date(dt.date.fromisoformat(touch.occasion), language)
            except ValueError:
                values[name] = touch.occasion
        elif name == "campaign_name":
            values[name] = touch.invitation.campaign.name if touch.invitation_id else ""
        elif name == "link":
            values[name] = link_for(touch, now=now)
        elif name in ("offer", "coupon_code", "coupon_expires"):
            coupon = birthday_coupon(touch, now=now)
            if coupon is None:
                values[name] = ""
            elif name == "offer":
                values[name] = coupon.template.name
            elif name == "coupon_code":
                values[name] = coupon.code
            else:
                values[name] = _date(coupon.expires_on, language)
    return values


def birthday_coupon(touch: Touch, *, now: dt.datetime):
    """The coupon of the store's birthday offer for this birthday (``touch.occasion`` is its year): issued the
    first time the text is written, and the same one for a retry of it (found by template, customer and year;
    the customer's row is locked while it is looked for, so two sends cannot issue two). None when the touch
    carries no offer (service class) or the store no longer has one."""
    if touch.kind != Kind.BIRTHDAY or touch.touch_class != "marketing":
        return None
    if not hasattr(touch, "_birthday_coupon"):
        touch._birthday_coupon = _birthday_coupon(touch, now=now)
    return touch._birthday_coupon


def _birthday_coupon(touch: Touch, *, now: dt.datetime):
    from campaigns.models import Coupon
    from campaigns.services import coupon_issue
    from customers.models import Customer

    from .policy import policy_for

    offer = policy_for(touch.dealership).birthday_offer
    if offer is None:
        return None
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=touch.customer_id).first()
        zone = touch.dealership.zone
        year = int(touch.occasion) if touch.occasion.isdigit() else touch.dealership.local_date(now).year
        start = dt.datetime(year, 1, 1, tzinfo=zone)
        found = (
            Coupon.objects.filter(
                customer_id=touch.customer_id, template=offer, campaign__isnull=True, issued_at__gte=start
            )
            .filter(issued_at__lt=start.replace(year=year + 1))
            .select_related("template")
            .first()
        )
        if found is not None:
            return found
        try:
            return coupon_issue(template=offer, customer=touch.customer, now=now)
        except ApplicationError:
            return None  # the offer is past its validity or switched off: the birthday text goes without it


def fill(text: str, values: dict[str, str]) -> str:
    """``{name}`` replaced by its value; nothing else of the text is interpreted."""
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")


def render(
    touch: Touch, *, channel: str, now: dt.datetime, language: str | None = None, templates: dict | None = None
) -> Rendered:
    """The message of ``touch`` on ``channel``: the store's template in ``language`` if it has an active one,
    else the built-in text in that language."""
    language = language or settings.FOLLOWUPS_MESSAGE_LANGUAGE
    if templates is None:
        templates = templates_for([touch.dealership_id], language)
    template = templates.get((touch.dealership_id, touch.kind, channel))
    names = VARIABLES.get(touch.kind, _COMMON)
    values = values_for(touch, language=language, now=now, names=names)
    if template is not None:
        subject, body = template.subject, template.body
        code, signature = template.provider_template_code, template.signature
    else:
        default_subject, default_body = DEFAULTS[touch.kind]
        if birthday_coupon(touch, now=now) is not None:
            default_subject, default_body = BIRTHDAY_WITH_OFFER
        with translation.override(language):
            subject, body = str(default_subject), str(default_body)
        code, signature = "", ""
    body = fill(body, values)
    if channel == "sms" and touch.touch_class == "marketing":
        from .channels.sms import with_opt_out

        body = with_opt_out(body)  # the carriers' rule: every marketing text ends with the opt-out
    return Rendered(
        subject=fill(subject, values)[:200],
        body=body,
        template_code=code,
        signature=signature,
        params=values,
        link=values.get("link", ""),
    )
