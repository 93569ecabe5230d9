"""Why a touch was skipped, cancelled, expired or failed: one stable code each, and the words for people.

The code goes in ``Touch.reason`` (and the API); pages show ``reason_text(code)``. Add a code here, with its
words, before using it."""

from django.utils.translation import gettext_lazy as _

REASONS = {
    # consent and reachability (customers.contact)
    "do_not_contact": _("The customer is on do-not-contact."),
    "no_marketing_consent": _("The customer has not given, or has withdrawn, marketing consent."),
    "sms_opt_out": _("The customer replied “T” to a text."),
    "wrong_number": _("The customer's phone number is known to be wrong."),
    "no_address": _("The customer has no address on this channel."),
    # stop conditions
    "booked": _("The customer booked an appointment."),
    "visited": _("The customer came in."),
    "complaint_open": _("A complaint of the customer's is open."),
    "complaint_closed": _("The complaint was closed: the customer has been told how it was handled."),
    "customer_erased": _("The customer's personal data was erased."),
    "customer_merged": _("The customer was merged into another record."),
    "due_date_moved": _("The predicted due date moved."),
    # sending
    "cap_reached": _("The customer has had as many marketing touches as the cap allows."),
    "expired": _("Its time ran out before it could be done."),
    "attempts_exhausted": _("The attempts allowed ran out."),
    "provider_error": _("The provider refused the message."),
    "timeout": _("The provider did not answer in time: whether it was sent is unknown."),
    "quota_exhausted": _("The customer's one-time WeChat subscription was used up."),
    "no_template": _("No active message template for this kind, channel and language."),
    "marketing_on_wechat": _("WeChat template messages may carry no marketing."),
    "cancelled_by_user": _("Cancelled by a member of staff."),
}


def reason_text(code: str) -> str:
    """The words for ``code`` (the code itself when it is not one of ours, e.g. a provider's)."""
    return str(REASONS.get(code, code))
