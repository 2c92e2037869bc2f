"""Shared reading of list queries: where, IDs, If-Modified-Since, paging."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, g, jsonify, request

from invoicesync_sandbox.xero import errors
from invoicesync_sandbox.xero.contract import parse_http_timestamp
from invoicesync_sandbox.xero.where import QueryParseError, compile_where
from invoicesync_sandbox.xero.wire import envelope

PAGE_SIZE = 100


def arg(name: str) -> str | None:
    """A documented query parameter of this operation (see `CheckedRequest.query`)."""
    query = g.checked.query if "checked" in g else request.args
    return next((v for k, v in query.items() if k.lower() == name.lower()), None)


def csv_arg(name: str) -> set[str] | None:
    value = arg(name)
    return None if value is None else {v.strip().strip('"').lower() for v in value.split(",")}


def list_response(
    records: list[dict],
    collection: str,
    type_name: str,
    view: Callable[[dict], dict],
    fields: frozenset[str],
    now,
    *,
    strip_lines: bool = False,
) -> Response:
    since = parse_http_timestamp(request.headers.get("If-Modified-Since", "") or "x")
    if since is not None:
        records = [r for r in records if r["_updated"] > since]
    where = arg("where")
    if where:
        try:
            predicate = compile_where(where, fields, type_name)
        except QueryParseError as error:
            return errors.query_parse_exception(str(error))
        records = [r for r in records if predicate(view(r))]
    records.sort(key=lambda r: r["_updated"])
    page = arg("page")
    extra = {}
    if page is not None:
        size = min(int(arg("pageSize") or PAGE_SIZE), 1000)
        start = (max(int(page), 1) - 1) * size
        count = len(records)
        records = records[start : start + size]
        extra["pagination"] = {
            "page": max(int(page), 1),
            "pageSize": size,
            "pageCount": (count + size - 1) // size,
            "itemCount": count,
        }
    elif strip_lines:
        records = [r | {"LineItems": []} for r in records]
    return jsonify(envelope(now, collection, records, **extra))
