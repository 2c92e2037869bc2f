"""How QBO bodies travel: JSON numbers read as Decimal, times stamped with the company offset."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape


class InvalidJson(ValueError):
    """A request body that is not JSON."""


def load_json(raw: bytes) -> Any:
    """Parse a request body; numbers with a fraction become Decimal, never float."""
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJson(str(exc)) from exc


def _number(value: object) -> object:
    # QBO sends amounts as JSON numbers. Cents-scale decimals have far fewer than 15 significant
    # digits, so the float's shortest repr is exactly the decimal text.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dump_json(body: object) -> str:
    return json.dumps(body, default=_number, separators=(",", ":"))


def company_time(moment: datetime, utc_offset_minutes: int, *, millis: bool = False) -> str:
    """An ISO-8601 time in the company's zone, the way QBO writes MetaData and `time`."""
    local = moment.astimezone(timezone(timedelta(minutes=utc_offset_minutes)))
    spec = "milliseconds" if millis else "seconds"
    return local.isoformat(timespec=spec)


def _xml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return escape(text)


def _xml_element(name: str, value: object) -> str:
    if isinstance(value, list):
        return "".join(_xml_element(name, item) for item in value)
    if not isinstance(value, dict):
        return "" if value is None else f"<{name}>{_xml_text(value)}</{name}>"
    # QBO's lower-camel JSON keys (domain, sparse, code, type, bId...) are XML attributes;
    # a reference's `value` is its text.
    attributes = "".join(
        f' {key}="{_xml_text(item)}"'
        for key, item in value.items()
        if key != "value" and key[:1].islower() and not isinstance(item, dict | list)
        if item is not None
    )
    children = "".join(
        _xml_element(key, item)
        for key, item in value.items()
        if not (key[:1].islower() and not isinstance(item, dict | list))
    )
    if "value" in value and not isinstance(value["value"], dict | list):
        children = _xml_text(value["value"]) + children
    return f"<{name}{attributes}>{children}</{name}>"


def dump_xml(body: dict) -> str:
    """The XML QBO answers with when the client does not ask for JSON."""
    rest = {k: v for k, v in body.items() if k != "time"}
    inner = "".join(_xml_element(key, value) for key, value in rest.items())
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
        f'time="{escape(str(body.get("time", "")))}">{inner}</IntuitResponse>'
    )
