"""Model fields of the shared core."""

from django.core.exceptions import FieldError
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import to_python

from . import crypto


class NotComparable:
    """An encrypted column: a random-IV ciphertext the database cannot compare, so every lookup but ``isnull`` is
    refused (a ``FieldError`` saying so) rather than silently matching nothing."""

    #: what to use instead, said in the error
    instead = ""

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self.model.__name__}.{self.name} is encrypted and cannot be compared in the database "
            f"(lookup “{lookup_name}”){self.instead}."
        )

    def get_transform(self, lookup_name):
        raise FieldError(f"{self.model.__name__}.{self.name} is encrypted: no transform “{lookup_name}”.")


class EncryptedPhoneField(NotComparable, PhoneNumberField):
    """A phone number stored encrypted (``dealercrm.core.crypto``: Fernet, key rotation), read back as the
    ``PhoneNumber`` that ``phonenumber_field`` gives.

    The column holds a random-IV ciphertext, so the database cannot compare it: every lookup but ``isnull`` is
    refused here (a ``FieldError`` saying what to use instead) rather than silently matching nothing. A model
    with this field keeps a keyed hash of the number (exact lookups, possible duplicates) and its last four
    digits (the counter's partial search) beside it: ``customers.phones`` computes both.
    """

    instead = ": filter on its keyed hash or last four digits (customers.phones)"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 255)  # a Fernet token of a phone number is 100 characters
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        plain = super().get_prep_value(value)
        if not plain:
            return None if self.null else ""
        return crypto.encrypt(str(plain))

    def from_db_value(self, value, expression, connection):
        if not value:
            return to_python(None)
        return to_python(crypto.decrypt(value), region=self.region)


class EncryptedTextField(NotComparable, models.TextField):
    """Text stored encrypted (``dealercrm.core.crypto``), read back as text: for a value that holds personal data
    and is never searched, such as a message's recipient (a phone number, an address). No lookups but
    ``isnull``."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return crypto.decrypt(value)
