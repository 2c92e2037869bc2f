"""The API's errors as sentences a bookkeeper understands, each tied to the field it concerns."""

from __future__ import annotations

from marshmallow import ValidationError

from admin.tenant_operations import ProcessingRefused, TenantNotFound
from invoicesync.errors import InvalidInput

# The schemas' own phrasing, said plainly.
_PHRASES = {
    "Not a valid integer.": "must be a whole number",
    "Not a valid date.": "must be a date",
    "Missing data for required field.": "is required",
    "Not a valid boolean.": "must be yes or no",
    "Unknown field.": "is not a setting we know",
    "a Keap invoice id": "must be a Keap invoice id: digits only, for example 1234",
    "a 3-letter ISO code": "must be a three-letter currency code such as USD",
}

FORM_ERROR = "form"  # the key for an error that concerns the whole form


def field_errors(exc: Exception, labels: dict[str, str] | None = None) -> dict[str, str]:
    """{dotted field: sentence}; unknown causes go under FORM_ERROR."""
    labels = labels or {}
    if isinstance(exc, ValidationError):
        return {
            field: _sentence(labels.get(field, field), messages)
            for field, messages in _flatten(exc.messages).items()
        }
    if isinstance(exc, ProcessingRefused):
        reasons = "; ".join(exc.missing)
        return {"sync.processing_enabled": f"Processing cannot be switched on yet: {reasons}."}
    if isinstance(exc, TenantNotFound):
        return {FORM_ERROR: "This business no longer exists."}
    if isinstance(exc, InvalidInput):
        field = _form_field(exc.field)
        message = str(exc)
        prefix = f"{exc.field}: "
        if field and message.startswith(prefix):
            message = message[len(prefix) :]
        if field:
            return {field: _sentence(labels.get(field, field), [message])}
        return {FORM_ERROR: _capitalised(message)}
    return {FORM_ERROR: "Something went wrong; please try again."}


def _sentence(label: str, messages: list[str]) -> str:
    said = "; ".join(_PHRASES.get(message, message.rstrip(".")) for message in messages)
    return f"{label} {said}." if said[:1].islower() else f"{label}: {said}."


def _capitalised(message: str) -> str:
    message = message.rstrip(".")
    return f"{message[:1].upper()}{message[1:]}."


def _form_field(field: str | None) -> str | None:
    """The API's field name as the console's form names it."""
    if field in (None, "body"):
        return None
    return field


def _flatten(messages: object, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = "" if key == "_schema" else str(key)
            flat |= _flatten(value, f"{prefix}.{name}".strip(".") if name else prefix)
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or FORM_ERROR: list(messages)}
    return {prefix or FORM_ERROR: [str(messages)]}
