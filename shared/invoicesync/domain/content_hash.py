"""A stable SHA-256 of canonical content, so an unchanged re-read is recognised as unchanged."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment

# Bump when the hashed form changes on purpose, so old and new hashes never compare equal.
_HASH_VERSION = "1"
# Not content: when the content was read, which says nothing about what it is.
_NOT_HASHED = frozenset({"content_hash", "keap_modified_at"})


def content_hash(record: CanonicalInvoice | CanonicalPayment) -> str:
    """Hex SHA-256 over every content field (not `content_hash` itself, nor the version);
    equal amounts hash equally."""
    content = {
        field.name: getattr(record, field.name)
        for field in dataclasses.fields(record)
        if field.name not in _NOT_HASHED
    }
    text = json.dumps(
        [_HASH_VERSION, type(record).__name__, _plain(content)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_content_hash(invoice: CanonicalInvoice) -> CanonicalInvoice:
    return dataclasses.replace(invoice, content_hash=content_hash(invoice))


def with_payment_content_hash(payment: CanonicalPayment) -> CanonicalPayment:
    return dataclasses.replace(payment, content_hash=content_hash(payment))


def _plain(value: object) -> object:
    """JSON-ready form: Decimals by value (10.0 == 10.00), dates ISO, enums by value."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def request_body_digest(*bodies: object) -> str:
    """Hex SHA-256 of provider request bodies (dicts and lists of JSON values, Decimals and
    dates), beside the content hashes they were made from. Idempotency keys are made of it,
    not only of the Keap content: the same Keap invoice
    sent with other settings (a fixed account code) is another request, and Xero answers 400 to
    a key reused with a different body (xero.md "Idempotency-Key header"), QBO replays the first
    answer to a reused requestid (qbo.md §2.6)."""
    text = json.dumps(
        [_HASH_VERSION, _plain(list(bodies))],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
