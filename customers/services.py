"""Every write to customers, vehicles, visits and appointments goes through here."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import Dealership

from . import phones
from .consent import TEXT_MAX_LENGTH, consent_text_for
from .models import (
    Appointment,
    ConsentChannel,
    ConsentEvent,
    Customer,
    MileageReading,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
    VisitType,
)
from .signals import CONSENT_WITHDRAWN, FLAG_RULES, SMS_OPT_OUT, send_rule_change
from .validators import APPOINTMENT_NOT_PAST

CUSTOMER_FIELDS = [
    "customer_no",
    "name",
    "phone",
    "gender",
    "birthday",
    "city",
    "preferred_channel",
    "member_tier",
    "points",
    "do_not_contact",
    "flag_wrong_number",
    "flag_bounced",
    "notes",
]
VEHICLE_FIELDS = [
    "vin",
    "plate",
    "brand",
    "model",
    "model_year",
    "purchase_date",
    "fuel_type",
    "warranty_end",
    "mileage_km",
]
VISIT_FIELDS = [
    "ro_number",
    "opened_on",
    "closed_on",
    "mileage_km",
    "visit_type",
    "labor_amount",
    "parts_amount",
    "total_amount",
    "payer",
    "advisor_name",
    "campaign_code",
]


def _save(instance, *, unique_message: str | None = None, unique_code: str = "already_exists"):
    """full_clean (its errors carry their codes) then save; a unique-constraint race becomes the same readable
    error, coded ``unique_code``."""
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ApplicationError(unique_message or str(exc), code=unique_code) from exc
    return instance


def _assign(instance, fields, data):
    for field in fields:
        if field in data:
            setattr(instance, field, data[field])


def customers_flag_duplicate_phones(*, dealership: Dealership) -> int:
    """Set the possible-duplicate flag on every customer whose phone another customer shares, set-based (by the
    phone's keyed hash: ``customers.phones``).

    Returns how many customers carry the flag afterwards.
    """
    shared = (
        Customer.objects.filter(dealership=dealership)
        .exclude(phone_hash="")
        .values("phone_hash")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values("phone_hash")
    )
    qs = Customer.objects.filter(dealership=dealership)
    qs.filter(phone_hash__in=shared, flag_possible_duplicate=False).update(flag_possible_duplicate=True)
    qs.filter(flag_possible_duplicate=True).exclude(phone_hash__in=shared).update(flag_possible_duplicate=False)
    return qs.filter(flag_possible_duplicate=True).count()


def _flag_phone(customer: Customer) -> None:
    same = phones.same_number(Customer.objects.filter(dealership_id=customer.dealership_id), customer.phone)
    if same.count() > 1:
        same.filter(flag_possible_duplicate=False).update(flag_possible_duplicate=True)
        customer.flag_possible_duplicate = True


@audited
@transaction.atomic
def customer_create(
    *,
    dealership: Dealership,
    acting_user=None,
    consent: bool | None = None,
    consent_channel: str = ConsentChannel.COUNTER,
    consent_text: str | None = None,
    **data,
) -> Customer:
    customer = Customer(dealership=dealership)
    _assign(customer, CUSTOMER_FIELDS, data)
    _save(
        customer,
        unique_message=_("Customer number %(no)s already exists.") % {"no": customer.customer_no},
        unique_code="customer_no_taken",
    )
    _flag_phone(customer)
    if consent is not None:  # asked just now (the counter's form, the API): the store's text is what was asked
        consent_record(
            customer=customer,
            granted=consent,
            channel=consent_channel,
            acting_user=acting_user,
            text_shown=consent_text if consent_text is not None else consent_text_for(dealership),
        )
    return customer


@audited
@transaction.atomic
def customer_update(*, customer: Customer, acting_user=None, **data) -> Customer:
    # Locked and read afresh: an edit waits for a merge of the customer (privacy.merge) and then finds them gone.
    try:
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
    except Customer.DoesNotExist:
        raise StateConflict(
            _("This customer no longer exists: they were merged into another customer or deleted."),
            code="customer_gone",
        ) from None
    if customer.erased_at is not None:  # an erased identity is never put back
        raise StateConflict(
            _("This customer's data was erased on request: the record can no longer be edited."),
            code="customer_erased",
        )
    old_phone = customer.phone
    flags_before = {rule: getattr(customer, field) for rule, field in FLAG_RULES.items()}
    _assign(customer, CUSTOMER_FIELDS, data)
    _save(
        customer,
        unique_message=_("Customer number %(no)s already exists.") % {"no": customer.customer_no},
        unique_code="customer_no_taken",
    )
    if customer.phone != old_phone:
        _flag_phone(customer)
        customers_flag_duplicate_phones(dealership=customer.dealership)
        customer.refresh_from_db(fields=["flag_possible_duplicate"])
    for rule, field in FLAG_RULES.items():  # do-not-contact or a wrong number: pending touches stop at once
        if getattr(customer, field) and not flags_before[rule]:
            send_rule_change(customer, rule)
    return customer


def _consent_proof(
    customer: Customer, *, text_shown: str, reference: str, source_file: str, source_line, import_run
) -> dict:
    """The proof kept with a consent event, checked: the text shown (at most ``TEXT_MAX_LENGTH`` characters),
    a reference, the import's file and line, and the import run, which must be the customer's dealership's."""
    text_shown = (text_shown or "").strip()
    if len(text_shown) > TEXT_MAX_LENGTH:
        raise ApplicationError(
            _("The consent text shown is longer than %(n)d characters.") % {"n": TEXT_MAX_LENGTH},
            code="consent_text_too_long",
            fields={"text_shown": [_("At most %(n)d characters.") % {"n": TEXT_MAX_LENGTH}]},
        )
    if import_run is not None and import_run.dealership_id != customer.dealership_id:
        raise ApplicationError(_("That record belongs to another dealership."), code="other_dealership")
    if source_line is not None and (not isinstance(source_line, int) or source_line < 1):
        raise ApplicationError(
            _("The source line is a whole number from 1."),
            code="invalid_source_line",
            fields={"source_line": [_("The source line is a whole number from 1.")]},
        )
    return {
        "text_shown": text_shown,
        "reference": (reference or "").strip(),
        "source_file": (source_file or "").strip(),
        "source_line": source_line,
        "import_run": import_run,
    }


@audited
@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    granted: bool,
    channel: str,
    acting_user=None,
    occurred_at: datetime | None = None,
    note: str = "",
    text_shown: str = "",
    reference: str = "",
    source_file: str = "",
    source_line: int | None = None,
    import_run=None,
) -> ConsentEvent:
    """Record a grant or withdrawal of marketing consent with its proof; the customer's flag follows the newest
    event.

    The proof (PIPL): ``text_shown``, the words the customer was shown or read (``customers.consent``:
    the store's consent text); where it came from beyond its channel: ``reference`` (a survey's id, the SMS
    reply's event id, "invitation 12" of a call), or the DMS ``import_run`` with its ``source_file`` and
    ``source_line``; and who recorded it (``acting_user``; none for the customer's own survey or text).
    ``occurred_at`` lies from 1990 to now at the store (``ConsentEvent.clean``); the customer's change is in
    their history under the same user.
    """
    occurred_at = occurred_at or timezone.now()
    if channel not in ConsentChannel.values:
        raise ApplicationError(
            _("Unknown consent channel “%(channel)s”.") % {"channel": channel}, code="unknown_consent_channel"
        )
    proof = _consent_proof(
        customer,
        text_shown=text_shown,
        reference=reference,
        source_file=source_file,
        source_line=source_line,
        import_run=import_run,
    )
    event = ConsentEvent(
        customer=customer,
        granted=granted,
        occurred_at=occurred_at,
        channel=channel,
        recorded_by=acting_user if getattr(acting_user, "pk", None) else None,
        note=note,
        **proof,
    )
    event.full_clean(exclude=["customer", "recorded_by", "import_run"])
    event.save()
    if customer.consent_changed_at is None or occurred_at >= customer.consent_changed_at:
        # Saved through the row (not a bare UPDATE), so that the customer's history records the change.
        fresh = Customer.objects.select_for_update().get(pk=customer.pk)
        fresh.marketing_consent = customer.marketing_consent = granted
        fresh.consent_changed_at = customer.consent_changed_at = occurred_at
        fresh.consent_channel = customer.consent_channel = channel
        fresh.save(update_fields=["marketing_consent", "consent_changed_at", "consent_channel", "updated_at"])
        if not granted:  # pending marketing stops at once
            send_rule_change(fresh, CONSENT_WITHDRAWN)
    return event


@audited
@transaction.atomic
def sms_opt_out_record(
    *,
    customer: Customer,
    acting_user=None,
    occurred_at: datetime | None = None,
    note: str = "",
    text_shown: str = "",
    reference: str = "",
) -> ConsentEvent:
    """The customer replied "T" (退订) to a text: SMS marketing stops (``sms_opt_out``), other channels keep the
    consent they gave (``Customer.sms_opt_out``). Recorded as a withdrawal through SMS in the consent history
    (its note says it is for texts), with its proof: ``reference``, the gateway's event id of the reply, and
    ``text_shown``, the marketing text the customer answered (the newest one sent to them); and the customer's
    change in their history."""
    occurred_at = occurred_at or timezone.now()
    proof = _consent_proof(
        customer, text_shown=text_shown, reference=reference, source_file="", source_line=None, import_run=None
    )
    event = ConsentEvent(
        customer=customer,
        granted=False,
        occurred_at=occurred_at,
        channel=ConsentChannel.SMS,
        recorded_by=acting_user if getattr(acting_user, "pk", None) else None,
        note=(note or _("Replied “T” to a text: marketing texts stop; other channels keep their consent."))[:200],
        **proof,
    )
    event.full_clean(exclude=["customer", "recorded_by", "import_run"])
    event.save()
    fresh = Customer.objects.select_for_update().get(pk=customer.pk)
    if not fresh.sms_opt_out:
        fresh.sms_opt_out = customer.sms_opt_out = True
        fresh.save(update_fields=["sms_opt_out", "updated_at"])
    send_rule_change(fresh, SMS_OPT_OUT)
    return event


def _check_same_dealership(dealership, *objects):
    for obj in objects:
        if obj is not None and obj.dealership_id != dealership.pk:
            raise ApplicationError(_("That record belongs to another dealership."), code="other_dealership")


@audited
@transaction.atomic
def vehicle_create(*, dealership: Dealership, owner: Customer, acting_user=None, **data) -> Vehicle:
    _check_same_dealership(dealership, owner)
    vehicle = Vehicle(dealership=dealership, owner=owner)
    _assign(vehicle, VEHICLE_FIELDS, data)
    vehicle.vin = (vehicle.vin or "").strip().upper()
    vehicle.plate = (vehicle.plate or "").strip().upper()
    _save(vehicle, unique_message=_("VIN %(vin)s is already on file.") % {"vin": vehicle.vin}, unique_code="vin_taken")
    VehicleOwnership.objects.create(vehicle=vehicle, customer=owner, started_on=timezone.localdate())
    if vehicle.mileage_km:
        mileage_record(
            vehicle=vehicle,
            mileage_km=vehicle.mileage_km,
            read_on=timezone.localdate(),
            source=MileageReading.Source.COUNTER,
        )
    return vehicle


@audited
@transaction.atomic
def vehicle_update(*, vehicle: Vehicle, acting_user=None, owner: Customer | None = None, **data) -> Vehicle:
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    _assign(vehicle, VEHICLE_FIELDS, data)
    vehicle.plate = (vehicle.plate or "").strip().upper()
    if owner is not None and owner.pk != vehicle.owner_id:
        _ownership_change(vehicle, owner, vehicle.dealership.local_date())
    _save(vehicle, unique_message=_("VIN %(vin)s is already on file.") % {"vin": vehicle.vin}, unique_code="vin_taken")
    return vehicle


def _ownership_change(vehicle: Vehicle, new_owner: Customer, on: date) -> None:
    _check_same_dealership(vehicle.dealership, new_owner)
    VehicleOwnership.objects.filter(vehicle=vehicle, ended_on__isnull=True).update(ended_on=on)
    VehicleOwnership.objects.create(vehicle=vehicle, customer=new_owner, started_on=on)
    vehicle.owner = new_owner


@audited
@transaction.atomic
def vehicle_transfer(*, vehicle: Vehicle, new_owner: Customer, on: date | None = None, acting_user=None) -> Vehicle:
    """Change the current owner; the ownership history keeps the previous one."""
    locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    _ownership_change(locked, new_owner, on or locked.dealership.local_date())
    locked.save(update_fields=["owner", "updated_at"])
    vehicle.owner = new_owner
    return locked


def mileage_record(*, vehicle: Vehicle, mileage_km: int, read_on: date, source: str) -> None:
    MileageReading.objects.get_or_create(
        vehicle=vehicle, read_on=read_on, mileage_km=mileage_km, defaults={"source": source}
    )
    if not vehicle.mileage_km or mileage_km > vehicle.mileage_km:
        # Through the row, so that the vehicle's history shows who recorded the new mileage.
        fresh = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        fresh.mileage_km = vehicle.mileage_km = mileage_km
        fresh.save(update_fields=["mileage_km", "updated_at"])


def _visit_defaults(visit: ServiceVisit) -> None:
    if visit.total_amount is None and visit.labor_amount is not None and visit.parts_amount is not None:
        visit.total_amount = Decimal(visit.labor_amount) + Decimal(visit.parts_amount)
    if visit.advisor_name and visit.advisor_id is None:
        from dealercrm.core.models import User

        visit.advisor = (
            User.objects.filter(memberships__dealership_id=visit.dealership_id, username=visit.advisor_name).first()
            or User.objects.filter(
                memberships__dealership_id=visit.dealership_id, display_name=visit.advisor_name
            ).first()
        )


@audited
@transaction.atomic
def visit_create(
    *, dealership: Dealership, vehicle: Vehicle, customer: Customer | None = None, acting_user=None, **data
) -> ServiceVisit:
    """Record a visit at the counter. The customer defaults to the vehicle's current owner."""
    customer = customer or vehicle.owner
    _check_same_dealership(dealership, vehicle, customer)
    visit = ServiceVisit(dealership=dealership, vehicle=vehicle, customer=customer)
    _assign(visit, VISIT_FIELDS, data)
    if not visit.advisor_name and acting_user is not None:
        visit.advisor_name = str(acting_user)
        visit.advisor = acting_user
    _visit_defaults(visit)
    if ServiceVisit.objects.filter(dealership=dealership, ro_number=visit.ro_number).exists():
        raise ValidationError(
            {
                "ro_number": ValidationError(
                    _("RO number %(ro)s is already on file.") % {"ro": visit.ro_number}, code="ro_number_taken"
                )
            }
        )
    _save(
        visit,
        unique_message=_("RO number %(ro)s is already on file.") % {"ro": visit.ro_number},
        unique_code="ro_number_taken",
    )
    if visit.mileage_km:
        mileage_record(
            vehicle=vehicle, mileage_km=visit.mileage_km, read_on=visit.opened_on, source=MileageReading.Source.VISIT
        )
    return visit


@audited
@transaction.atomic
def visit_update(*, visit: ServiceVisit, acting_user=None, **data) -> ServiceVisit:
    visit = ServiceVisit.objects.select_for_update().get(pk=visit.pk)
    old_ro = visit.ro_number
    _assign(visit, VISIT_FIELDS, data)
    _visit_defaults(visit)
    if (
        visit.ro_number != old_ro
        and ServiceVisit.objects.filter(dealership_id=visit.dealership_id, ro_number=visit.ro_number).exists()
    ):
        raise ValidationError(
            {
                "ro_number": ValidationError(
                    _("RO number %(ro)s is already on file.") % {"ro": visit.ro_number}, code="ro_number_taken"
                )
            }
        )
    _save(
        visit,
        unique_message=_("RO number %(ro)s is already on file.") % {"ro": visit.ro_number},
        unique_code="ro_number_taken",
    )
    return visit


@audited
@transaction.atomic
def appointment_create(
    *,
    dealership: Dealership,
    customer: Customer,
    date: date,
    vehicle: Vehicle | None = None,
    time_slot: str = "",
    source: str = Appointment.Source.COUNTER,
    note: str = "",
    acting_user=None,
) -> Appointment:
    _check_same_dealership(dealership, customer, vehicle)
    appointment = Appointment(
        dealership=dealership,
        customer=customer,
        vehicle=vehicle,
        date=date,
        time_slot=time_slot,
        source=source,
        note=note,
        created_by=acting_user if getattr(acting_user, "pk", None) else None,
    )
    error = APPOINTMENT_NOT_PAST.error(date, today=dealership.local_date())
    if error is not None:
        raise ValidationError({"date": error})
    return _save(appointment)


@audited
@transaction.atomic
def appointment_set_status(*, appointment: Appointment, status: str, acting_user=None) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    allowed = {
        Appointment.Status.BOOKED: {
            Appointment.Status.ARRIVED,
            Appointment.Status.NO_SHOW,
            Appointment.Status.CANCELLED,
        },
        Appointment.Status.NO_SHOW: {Appointment.Status.ARRIVED},
    }
    if status not in Appointment.Status.values:
        raise ApplicationError(
            _("Unknown appointment status “%(status)s”.") % {"status": status}, code="unknown_appointment_status"
        )
    if status not in allowed.get(appointment.status, set()):
        raise StateConflict(
            _("An appointment that is “%(old)s” cannot become “%(new)s”.")
            % {"old": appointment.get_status_display(), "new": Appointment.Status(status).label},
            code="appointment_status_not_allowed",
        )
    appointment.status = status
    appointment.save(update_fields=["status", "updated_at"])
    return appointment


@audited
@transaction.atomic
def appointment_arrive(
    *,
    appointment: Appointment,
    acting_user=None,
    ro_number: str = "",
    vehicle: Vehicle | None = None,
    visit_type: str = VisitType.MAINTENANCE,
    opened_on: date | None = None,
    campaign_code: str = "",
) -> tuple[Appointment, ServiceVisit]:
    """The customer of ``appointment`` has come: mark it arrived and open their visit in the same step, all or
    nothing (a refused visit, e.g. an RO number already on file, leaves the appointment booked).

    The visit: ``ro_number`` as typed, else the next free one of the day (``selectors.ro_number_suggest``); the
    appointment's vehicle, else ``vehicle``, else the customer's only current vehicle; ``visit_type``
    (maintenance unless said); opened today at the store; the advisor is ``acting_user``."""
    from .selectors import ro_number_suggest

    appointment = appointment_set_status(appointment=appointment, status=Appointment.Status.ARRIVED)
    customer = appointment.customer
    vehicle = vehicle or appointment.vehicle
    if vehicle is None:
        current = list(Vehicle.objects.filter(owner=customer)[:2])
        vehicle = current[0] if len(current) == 1 else None
    if vehicle is None:
        message = _("Choose the vehicle the customer came with (add it first if it is not on file).")
        raise ApplicationError(message, code="vehicle_required", fields={"vehicle": [message]})
    if vehicle.owner_id != customer.pk:
        message = _("That vehicle is not the customer's.")
        raise ApplicationError(message, code="vehicle_of_another_customer", fields={"vehicle": [message]})
    if visit_type not in VisitType.values:
        message = _("Unknown visit type “%(type)s”.") % {"type": visit_type}
        raise ApplicationError(message, code="unknown_visit_type", fields={"visit_type": [message]})
    opened_on = opened_on or appointment.dealership.local_date()
    ro_number = (ro_number or "").strip().upper() or ro_number_suggest(dealership=appointment.dealership, day=opened_on)
    try:
        visit = visit_create(
            dealership=appointment.dealership,
            vehicle=vehicle,
            customer=customer,
            acting_user=acting_user,
            ro_number=ro_number,
            opened_on=opened_on,
            visit_type=visit_type,
            labor_amount=Decimal("0"),
            parts_amount=Decimal("0"),
            campaign_code=(campaign_code or "").strip().upper()[:32],
        )
    except ValidationError as exc:  # raised in this transaction: the arrival is undone with it
        fields = getattr(exc, "message_dict", {})
        codes = [e.code for errors in getattr(exc, "error_dict", {}).values() for e in errors if e.code]
        message = " ".join(m for messages in fields.values() for m in messages) or " ".join(exc.messages)
        raise ApplicationError(message, code=codes[0] if codes else "invalid_visit", fields=fields) from exc
    return appointment, visit
