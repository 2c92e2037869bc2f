"""JSON request bodies with Decimal amounts written as exact JSON numbers, for every provider."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import requests


class DecimalJsonSession(requests.Session):
    """A session that writes `json=` bodies with Decimal amounts as exact JSON numbers."""

    def request(self, method, url, *args, json=None, **kwargs):  # noqa: A002 - requests' name
        if json is not None:
            kwargs["data"] = dump_json(json).encode()
            headers = dict(kwargs.get("headers") or {})
            headers["Content-Type"] = "application/json"
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def dump_json(body: Any) -> str:
    """JSON text with every Decimal written as a number with exactly its digits."""
    if isinstance(body, Decimal):
        if not body.is_finite():
            raise ValueError(f"not a finite amount: {body}")
        return format(body, "f")
    if isinstance(body, dict):
        items = (f"{json.dumps(str(k))}:{dump_json(v)}" for k, v in body.items())
        return "{" + ",".join(items) + "}"
    if isinstance(body, list | tuple):
        return "[" + ",".join(dump_json(v) for v in body) + "]"
    return json.dumps(body)
