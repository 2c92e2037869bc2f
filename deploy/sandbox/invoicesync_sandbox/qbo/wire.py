"""How QBO bodies travel: JSON numbers read as Decimal, times stamped with the company offset."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any


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
