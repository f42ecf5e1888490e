"""Encryption at rest: AES-GCM with rotatable keys, and a keyed hash for lookups.

A stored value is `<key id>:<base64(nonce | ciphertext | tag)>`. The key id names the key that
encrypted it, so keys can rotate: new values use the first key of `PATIENT_ID_KEYS`, and every
key still listed there decrypts the values it wrote. The associated data binds a ciphertext to
its purpose (e.g. `alliance.patient.id_number`, alliance.fields): a value copied into another
encrypted column does not decrypt there.

AES-GCM uses a random nonce, so equal numbers give different ciphertexts and the column cannot
be searched. Exact lookups and uniqueness go through a keyed hash (HMAC-SHA256 with
`PATIENT_ID_HMAC_KEY`, a key of its own) kept in a column next to it, of the value as the app
normalises it (alliance.fields.id_number_hash). Changing the HMAC key means recomputing every
hash from the decrypted values. The settings keep the names they were deployed with, from when
identity numbers were the only encrypted column.

The functions here read the keys from settings at each call (tests override them) and are also
used by the data migration that encrypted the existing rows (alliance 0005), so they must keep
working on the values that migration wrote.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models

NONCE_BYTES = 12  # the size AES-GCM is specified for; random per value


class DecryptionError(ValueError):
    """A stored value that cannot be decrypted: unknown key id, malformed, or tampered with.

    The message never contains the stored value or any part of a plaintext.
    """


def _keys() -> dict[str, bytes]:
    keys = settings.PATIENT_ID_KEYS
    if not keys:
        raise DecryptionError("PATIENT_ID_KEYS holds no key.")
    return keys


def encrypt(plaintext: str, purpose: str) -> str:
    """Encrypt with the current key (the first of PATIENT_ID_KEYS): `<key id>:<base64>`."""
    key_id, key = next(iter(_keys().items()))
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), purpose.encode())
    return f"{key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt(stored: str, purpose: str) -> str:
    """Decrypt a value written by `encrypt` with any key still in PATIENT_ID_KEYS."""
    key_id, separator, payload = stored.partition(":")
    if not separator:
        raise DecryptionError(f"{purpose}: the stored value is not in the encrypted format.")
    key = _keys().get(key_id)
    if key is None:
        raise DecryptionError(f"{purpose}: no key with id {key_id!r} in PATIENT_ID_KEYS.")
    try:
        raw = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise DecryptionError(f"{purpose}: the stored value is not valid base64.") from exc
    if len(raw) <= NONCE_BYTES:
        raise DecryptionError(f"{purpose}: the stored value is too short.")
    try:
        plaintext = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode())
    except InvalidTag as exc:
        # Deliberately vague: the tag check failing means tampering or the wrong key.
        raise DecryptionError(
            f"{purpose}: authentication failed (tampered value or wrong key {key_id!r})."
        ) from exc
    return plaintext.decode()


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 (hex) of `value` with PATIENT_ID_HMAC_KEY: how encrypted values are found and
    kept unique. Normalise the value first, so that one value has one hash."""
    return hmac.new(settings.PATIENT_ID_HMAC_KEY, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; the model attribute is always the plaintext.

    Filtering on the column would compare ciphertexts and silently match nothing, so every
    lookup except `isnull` is refused: look rows up by the keyed hash column instead.
    """

    description = "Text encrypted at rest (AES-GCM)"

    def __init__(self, *args: Any, purpose: str, **kwargs: Any) -> None:
        self.purpose = purpose
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value, self.purpose)

    def to_python(self, value: Any) -> str | None:
        # Values in Python (forms, serializers, fixtures, the attribute) are always plaintext:
        # only from_db_value ever sees a ciphertext.
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            # Nothing to hide; an empty required value is refused by validation anyway.
            return value
        return encrypt(value, self.purpose)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self.name} is encrypted: the lookup {lookup_name!r} would compare ciphertexts. "
            "Filter on the keyed hash column instead."
        )

    def get_transform(self, lookup_name: str) -> Any:
        raise FieldError(f"{self.name} is encrypted: the transform {lookup_name!r} is refused.")
