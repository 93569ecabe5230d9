"""Personal data encrypted at rest: the keys, encryption with rotation, and a keyed hash for lookups.

* ``PHONE_ENCRYPTION_KEYS``: Fernet keys (``cryptography``: AES-128-CBC with an HMAC-SHA256 tag, so a changed
  ciphertext is refused, never decrypted to something else), newest first. New values are encrypted with the
  first; every key of the list still decrypts, so a key is rotated by putting a new one in front, running
  ``manage.py rotate_phone_keys`` (it re-encrypts in batches), then dropping the old one.
* ``PHONE_HASH_KEY``: the key of the HMAC-SHA256 "blind index" that finds a phone number (and possible
  duplicates) without decrypting anything. It is not rotated with the encryption keys: every stored hash
  would change with it.

Both are required: a missing or malformed key stops the application as it starts (``check_keys``, from
``CoreConfig.ready``), and a key that cannot decrypt what is stored stops it at its first request
(``verify_stored_keys``, from the WSGI/ASGI application, the Celery worker and ``manage.py check``), with a
message naming the setting; a page never shows a ciphertext or an empty number in its place.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEYS_SETTING = "PHONE_ENCRYPTION_KEYS"
HASH_SETTING = "PHONE_HASH_KEY"
#: the shortest blind-index key accepted (bytes): as long as the hash it keys
MIN_HASH_KEY_BYTES = 32


class KeySettingError(ImproperlyConfigured):
    """A key setting is missing, malformed, or cannot decrypt what is stored."""


def _keys() -> list[str]:
    value = getattr(settings, KEYS_SETTING, None)
    if isinstance(value, str):
        value = [k for k in (part.strip() for part in value.split(",")) if k]
    return list(value or [])


def check_keys() -> None:
    """Refuse to start without well-formed keys: ``ImproperlyConfigured`` naming the setting."""
    keys = _keys()
    if not keys:
        raise KeySettingError(
            f"{KEYS_SETTING} is not set: phone numbers are stored encrypted and cannot be read or written without "
            f"it. Set it to one or more Fernet keys, newest first (make one with "
            f'`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).'
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, binascii.Error) as exc:
            raise KeySettingError(
                f"{KEYS_SETTING}: key {position} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded "
                f"bytes): {exc}"
            ) from None
    hash_key = getattr(settings, HASH_SETTING, "") or ""
    if len(hash_key.encode()) < MIN_HASH_KEY_BYTES:
        raise KeySettingError(
            f"{HASH_SETTING} is {'not set' if not hash_key else 'too short'}: the keyed hash that finds phone numbers "
            f"needs a secret of at least {MIN_HASH_KEY_BYTES} characters."
        )


@functools.cache
def _keyring(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    fernets = [Fernet(key) for key in keys]
    return MultiFernet(fernets), fernets[0]


def keyring() -> tuple[MultiFernet, Fernet]:
    """(every key, the newest key), from the settings as they are now (tests may change them)."""
    keys = tuple(_keys())
    if not keys:
        check_keys()
    return _keyring(keys)


def encrypt(text: str) -> str:
    """``text`` encrypted with the newest key, as url-safe base64 text (100 characters for a phone number)."""
    return keyring()[1].encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The text of ``token``; a token no key opens stops the request with a message naming the setting."""
    try:
        return keyring()[0].decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise KeySettingError(
            f"{KEYS_SETTING} cannot decrypt a stored phone number: the key that encrypted it is not in the list "
            f"(a wrong key, or an old one dropped before `manage.py rotate_phone_keys` ran)."
        ) from None


def is_current(token: str) -> bool:
    """Whether ``token`` is encrypted with the newest key (nothing to rotate)."""
    try:
        keyring()[1].decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """``token`` re-encrypted with the newest key (any key of the list opens it)."""
    try:
        return keyring()[0].rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        decrypt(token)  # raises the message naming the setting
        raise


@functools.cache
def _hash_key(key: str) -> bytes:
    return key.encode()


#: hex digits of the HMAC kept: 128 bits find a number among any store's customers without a collision, and
#: half the width makes the index (and the import writing it) lighter
BLIND_INDEX_LENGTH = 32


def blind_index(text: str) -> str:
    """HMAC-SHA256 of ``text`` under ``PHONE_HASH_KEY``, its first 32 hex digits (128 bits): equal texts, equal
    hashes; nothing about the text can be learnt from it without the key."""
    key = getattr(settings, HASH_SETTING, "") or ""
    if not key:
        check_keys()
    return hmac.new(_hash_key(key), text.encode(), hashlib.sha256).hexdigest()[:BLIND_INDEX_LENGTH]


def generate_key() -> str:
    return Fernet.generate_key().decode()


def looks_encrypted(value: str) -> bool:
    """Whether a stored value has the shape of a Fernet token (version byte 0x80): the data migration and the
    checks tell encrypted values from plain ones with it."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeError):
        return False
    return len(raw) >= 57 and raw[0] == 0x80


def verify_stored_keys(using: str = "default") -> None:
    """Decrypt one stored phone number (the newest) and stop with a message naming ``PHONE_ENCRYPTION_KEYS``
    if no key opens it. Cheap (one indexed row); a database without tables yet passes."""
    from django.db import DatabaseError, connections

    check_keys()
    try:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT phone FROM customers_customer WHERE phone IS NOT NULL ORDER BY id DESC LIMIT 1")
            row = cursor.fetchone()
    except DatabaseError:
        return  # not migrated yet: nothing stored to check
    if row and row[0]:
        decrypt(row[0])
