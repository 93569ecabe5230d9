"""Personal data shown only as much as the reader needs."""


def mask_phone(phone) -> str:
    """A phone number with its middle hidden: ``+8613812345678`` → ``138****5678`` (national form)."""
    if not phone:
        return ""
    national = str(getattr(phone, "national_number", "") or "") or str(phone).removeprefix("+86")
    digits = national.replace(" ", "").replace("-", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    keep = 3 if len(digits) >= 11 else 2
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]
