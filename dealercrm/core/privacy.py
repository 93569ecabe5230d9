"""Personal data shown only as much as the reader needs."""

from phonenumber_field.phonenumber import to_python


def mask_phone(phone) -> str:
    """A phone number with its middle hidden: ``+8613812345678`` → ``138****5678`` (national form)."""
    if not phone:
        return ""
    if isinstance(phone, str) and phone.startswith("+") and not phone.startswith("+86"):
        phone = to_python(phone)  # another country's number: its national part, as for a PhoneNumber
    national = str(getattr(phone, "national_number", "") or "") or str(phone).removeprefix("+86")
    digits = national.replace(" ", "").replace("-", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:  # no phone number: too short to show its end and still hide something
        return "*" * (len(digits) - 2) + digits[-2:]
    keep = 3 if len(digits) >= 11 else 2
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]
