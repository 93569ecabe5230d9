"""Marketing consent with its proof (PIPL): the words a customer is shown, and a customer's history as evidence.

* The consent text: the store's own (``Dealership.consent_text``) or the standard wording below, in the language
  of the store's messages to customers (``FOLLOWUPS_MESSAGE_LANGUAGE``, Chinese by default), whatever the
  language of the member of staff reading it out. ``consent_text_for(dealership)`` is what every way of
  recording consent shows and keeps with the event (``ConsentEvent.text_shown``): the counter's form, the API's
  default, the survey page's box, the workbench's call card.
* The evidence: ``evidence(customer)`` is a customer's consent history, event by event, with where each came
  from (channel, import file and line or reference), the text shown, who recorded it and when; ``evidence_xlsx``
  the same as a workbook with Chinese headings. Pages and the API write one access event per export
  (``dealercrm.core.access_log``).
"""

from __future__ import annotations

import io

import xlsxwriter
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealercrm.core.exports import XLSX_OPTIONS

#: the standard consent wording, used when the store has written none; ``%(store)s`` is the store's name
STANDARD_TEXT = gettext_lazy(
    "I agree that %(store)s may use my name, mobile number and my vehicles' service records to send me service "
    "reminders, offers and event invitations by text message, phone call, WeChat or e-mail. I can withdraw "
    "this consent at any time at the service counter, by phone, or by replying “T” to a text message."
)
#: the longest consent text kept with an event (a client of the API may send the text it showed)
TEXT_MAX_LENGTH = 4000
#: the language of the evidence workbook's headings (it is shown to Chinese authorities and courts)
EVIDENCE_LANGUAGE = "zh-hans"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STATES = {
    "granted": gettext_lazy("Granted"),
    "not_given": gettext_lazy("Not given"),  # 未授权: refused, or never asked, and never granted before
    "withdrawn": gettext_lazy("Withdrawn"),  # 已撤回: granted once, then taken back
}


def message_language() -> str:
    """The language of the store's messages to customers (and of the words they are shown)."""
    return getattr(settings, "FOLLOWUPS_MESSAGE_LANGUAGE", "") or "zh-hans"


def standard_text(store_name: str = "") -> str:
    """The standard wording in the customers' language, naming the store."""
    with translation.override(message_language()):
        store = store_name or _("this dealership")
        return str(STANDARD_TEXT) % {"store": store}


def consent_text_for(dealership) -> str:
    """What a customer is shown (or read) before they agree: the store's text, else the standard one."""
    own = (getattr(dealership, "consent_text", "") or "").strip()
    return own or standard_text(getattr(dealership, "name", "") or "")


def annotate_states(events: list) -> tuple[list, bool]:
    """Each event (newest first) gets ``state`` and ``state_label``: a grant, a refusal of a customer who never
    consented ("not given": an import's 否, say) or the withdrawal of an earlier grant. Returns the events and
    whether the customer ever granted."""
    granted_before = False
    for event in reversed(events):  # oldest first
        event.state = "granted" if event.granted else ("withdrawn" if granted_before else "not_given")
        event.state_label = STATES[event.state]
        granted_before = granted_before or event.granted
    return events, granted_before


def current_state(customer, granted_before: bool) -> str:
    return "granted" if customer.marketing_consent else ("withdrawn" if granted_before else "not_given")


def source_detail(event) -> str:
    """Where the event came from beyond its channel, in a few words: the import's file and line, else its
    reference (a survey's id, the SMS reply's event id, "invitation 12" of a call); "" when nothing more."""
    if event.source_file:
        if event.source_line:
            return _("%(file)s, line %(line)s") % {"file": event.source_file, "line": event.source_line}
        return event.source_file
    if event.reference:
        return event.reference
    if event.import_run_id:
        return _("DMS import %(id)s") % {"id": event.import_run_id}
    return ""


def _user_label(user) -> str:
    if user is None:
        return ""
    name = getattr(user, "display_name", "") or user.get_full_name() or ""
    return f"{name} ({user.username})" if name and name != user.username else user.username


def _local(moment, zone) -> str:
    return timezone.localtime(moment, zone).isoformat(timespec="seconds") if moment else ""


def events_of(customer) -> list:
    """The customer's consent events, newest first, with who recorded them: one query."""
    from .models import ConsentEvent

    return list(
        ConsentEvent.objects.filter(customer=customer).select_related("recorded_by").order_by("-occurred_at", "-id")
    )


def evidence(customer, *, now=None) -> dict:
    """The customer's consent history as evidence: the customer (their number, current state) and each event
    (when, granted or withdrawn, channel, source, text shown, who recorded it and when). Times are the store's
    local time with their offset."""
    now = now or timezone.now()
    zone = customer.dealership.zone
    events, granted_before = annotate_states(events_of(customer))
    state = current_state(customer, granted_before)
    return {
        "dealership": customer.dealership.code,
        "customer": {
            "id": customer.pk,
            "customer_no": customer.customer_no,
            "state": state,
            "state_display": str(STATES[state]),
            "marketing_consent": customer.marketing_consent,
            "sms_opt_out": customer.sms_opt_out,
            "consent_changed_at": _local(customer.consent_changed_at, zone) or None,
            "consent_channel": customer.consent_channel or "",
        },
        "exported_at": _local(now, zone),
        "events": [
            {
                "id": event.pk,
                "occurred_at": _local(event.occurred_at, zone),
                "granted": event.granted,
                "state": event.state,
                "state_display": str(event.state_label),
                "channel": event.channel,
                "channel_display": str(event.get_channel_display()),
                "source": source_detail(event),
                "import_run": event.import_run_id,
                "source_file": event.source_file,
                "source_line": event.source_line,
                "reference": event.reference,
                "text_shown": event.text_shown,
                "note": event.note,
                "recorded_by": event.recorded_by.username if event.recorded_by else None,
                "recorded_by_display": _user_label(event.recorded_by),
                "recorded_at": _local(event.created_at, zone),
            }
            for event in events
        ],
    }


def _headings() -> list[str]:
    return [
        _("When"),
        _("Consent"),
        _("Channel"),
        _("File and line, or reference"),
        _("Text shown"),
        _("Note"),
        _("Recorded by"),
        _("Recorded at"),
    ]


def evidence_xlsx(data: dict) -> bytes:
    """``evidence(customer)`` as a workbook: a heading naming the customer and their current state, then one row
    per event, with Chinese column headings."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, **XLSX_OPTIONS})
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    top = book.add_format({"valign": "top"})
    customer = data["customer"]
    with translation.override(EVIDENCE_LANGUAGE):
        sheet = book.add_worksheet(_("Consent history")[:31])
        state = str(STATES[customer["state"]])
        sheet.write_string(0, 0, _("Customer number"), bold)
        sheet.write_string(0, 1, customer["customer_no"])
        sheet.write_string(1, 0, _("Current state"), bold)
        sheet.write_string(1, 1, state)
        sheet.write_string(2, 0, _("Exported at"), bold)
        sheet.write_string(2, 1, data["exported_at"])
        header = 4
        for column, heading in enumerate(_headings()):
            sheet.write_string(header, column, heading, bold)
        for row, event in enumerate(data["events"], start=header + 1):
            cells = [
                event["occurred_at"],
                str(STATES[event["state"]]),
                str(_channel_label(event["channel"])),
                event["source"],
                event["text_shown"],
                event["note"],
                event["recorded_by_display"],
                event["recorded_at"],
            ]
            for column, value in enumerate(cells):
                sheet.write_string(row, column, value or "", wrap if column == 4 else top)
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, 3, 16)
        sheet.set_column(4, 4, 60)
        sheet.set_column(5, 7, 20)
    book.close()
    return out.getvalue()


def _channel_label(channel: str):
    from .models import ConsentChannel

    return ConsentChannel(channel).label if channel in ConsentChannel.values else channel


def evidence_filename(customer, fmt: str) -> str:
    return f"consent-{customer.dealership.code}-{customer.customer_no or customer.pk}.{fmt}"
