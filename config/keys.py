"""Reading the patient-data keys from their environment variables (see settings.py, "Patient
data"), and the fixed development keys derived from SECRET_KEY when they are not set."""

import base64
import binascii
import hashlib

from django.core.exceptions import ImproperlyConfigured


def b64_key(name: str, raw: str, sizes: set[int] | None = None, minimum: int = 0) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error:
        raise ImproperlyConfigured(f"{name}: a key is not valid base64.") from None
    if (sizes and len(key) not in sizes) or len(key) < minimum:
        wanted = " or ".join(map(str, sorted(sizes))) if sizes else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name}: a key must be {wanted} bytes, not {len(key)}.")
    return key


def patient_id_keys(raw: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        key_id, separator, value = entry.partition(":")
        key_id = key_id.strip()
        if not separator or not key_id or not key_id.replace("-", "").replace("_", "").isalnum():
            raise ImproperlyConfigured(
                "PATIENT_ID_KEYS is a comma-separated list of key_id:base64key "
                "(key ids of letters, digits, - and _)."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"PATIENT_ID_KEYS names the key id {key_id!r} twice.")
        keys[key_id] = b64_key("PATIENT_ID_KEYS", value, sizes={32})
    return keys


def development_key(label: str, secret_key: str) -> bytes:
    return hashlib.sha256(f"alliance-dev-only:{label}:{secret_key}".encode()).digest()
