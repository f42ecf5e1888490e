"""The encrypted identity number of a patient: its purpose, and its keyed hash of the normalised
number (the encryption itself is core.fields)."""

from __future__ import annotations

from core.fields import keyed_hash

from .validators import normalize_id_number

ID_NUMBER_PURPOSE = "alliance.patient.id_number"


def id_number_hash(value: str) -> str:
    """HMAC-SHA256 (hex) of the normalised number: how rows are found and kept unique.

    Normalised first (spaces removed, upper-case X), so `...123x` and `...123X` are one number.
    """
    return keyed_hash(normalize_id_number(value or ""))
