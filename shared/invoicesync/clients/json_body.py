"""The session every provider client sends through: JSON request bodies with Decimal amounts
written as exact JSON numbers, and the environment's proxy settings read once per origin."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests


class DecimalJsonSession(requests.Session):
    """A session that writes `json=` bodies with Decimal amounts as exact JSON numbers."""

    def __init__(self) -> None:
        super().__init__()
        self._environment_settings: dict[tuple, Any] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        """requests reads every environment variable on each call to find proxy settings (a
        good share of a writer's CPU per call); they do not change while a service runs, so
        each origin's answer is kept. Per-call proxies are merged as requests merges them."""
        if proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        origin = urlsplit(url)
        key = (origin.scheme, origin.netloc, stream, verify, cert)
        merged: Any = self._environment_settings.get(key)
        if merged is None:
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment_settings[key] = merged
        return {**merged, "proxies": dict(merged["proxies"])}

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
