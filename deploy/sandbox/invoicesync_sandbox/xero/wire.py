"""Xero's wire forms: MS-JSON dates, numbers, the response envelope and the XML default."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

PROVIDER_NAME = "InvoiceSync Sandbox"


def ms_date(value: date | datetime) -> str:
    """`/Date(1539993600000+0000)/` as Xero writes dates and timestamps."""
    moment = value if isinstance(value, datetime) else datetime.combine(value, time(), UTC)
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def date_string(value: date) -> str:
    return f"{value.isoformat()}T00:00:00"


def utc_string(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(value: Any) -> Any:
    """Turn stored values into JSON-ready ones (Decimal amounts become JSON numbers)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if not key.startswith("_")}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def envelope(now: datetime, collection: str, items: list[dict], **extra: Any) -> dict:
    body = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": f"/Date({int(now.timestamp() * 1000)})/",
    }
    body.update(extra)
    body[collection] = plain(items)
    return body


def singular(collection: str) -> str:
    for plural, single in (("Addresses", "Address"), ("ies", "y"), ("es", "e"), ("s", "")):
        if collection.endswith(plural):
            return collection[: -len(plural)] + single
    return collection


def to_xml(body: Any, root: str = "Response") -> str:
    """Render a JSON body the way Xero answers clients that did not ask for JSON."""
    return f'<{root} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{_xml(body)}</{root}>'


def _xml(value: Any, name: str = "") -> str:
    if isinstance(value, dict):
        return "".join(f"<{k}>{_xml(v, k)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        tag = singular(name) or "Item"
        return "".join(f"<{tag}>{_xml(item, tag)}</{tag}>" for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))
