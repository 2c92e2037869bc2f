"""`/cdc`: Change Data Capture, objects changed since a time within the last 30 days."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .faults import invalid_value, required_param
from .store import ENTITY_NAMES, QboCompany
from .wire import company_time

WINDOW = timedelta(days=30)
MAX_OBJECTS = 1000
NOT_CAPTURED = frozenset({"TaxCode", "TaxRate", "JournalCode", "TaxAgency", "TimeActivity"})
# `changedSince` is a date or a date-time to the whole second, with an optional UTC offset:
# Intuit's CDC reference shows `changedSince=2015-11-28` (DOCS-M api-reference/
# changedatacapture.md) and qbo.md §7 `2025-03-01T00:00:00-08:00`; python-quickbooks formats
# it with `qb_datetime_format` = "%Y-%m-%dT%H:%M:%S" (PQB quickbooks/helpers.py). Nothing
# documents fractional seconds, so the stand-in refuses them (the exact live error is unknown).
_CHANGED_SINCE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?)?")


def parse_changed_since(text: str | None, company: QboCompany, now: datetime) -> datetime:
    if not text:
        raise required_param("changedSince")
    text = text.strip().replace(" ", "+")
    if _CHANGED_SINCE.fullmatch(text) is None:
        raise invalid_value(
            "changedSince",
            f"Invalid changedSince: {text} (a date, or a date-time to the whole second)",
        )
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid_value("changedSince", f"Invalid changedSince: {text}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(minutes=company.utc_offset_minutes)))
    if moment < now - WINDOW:
        raise invalid_value(
            "changedSince", "changedSince must be within the last 30 days of the request."
        )
    return moment


def parse_entities(text: str | None) -> list[str]:
    if not text:
        raise required_param("entities")
    names = []
    for raw in text.split(","):
        name = ENTITY_NAMES.get(raw.strip().lower())
        if name is None or name in NOT_CAPTURED:
            raise invalid_value("entities", f"Change Data Capture does not support {raw.strip()}")
        names.append(name)
    return names


def change_data_capture(company: QboCompany, entities: list[str], since: datetime) -> dict:
    """The `CDCResponse` list: changed objects by type, deleted stubs after the active ones."""
    groups, budget = [], MAX_OBJECTS
    for entity in entities:
        active = sorted(
            (at, entity_id)
            for (name, entity_id), at in company.updated_at.items()
            if name == entity and at >= since
        )
        deleted = sorted(
            (at, entity_id)
            for (name, entity_id), at in company.deleted.items()
            if name == entity and at >= since
        )
        rows = [company.get(entity, entity_id) for _, entity_id in active]
        rows += [_deleted_stub(company, entity_id, at) for at, entity_id in deleted]
        rows = rows[:budget]
        budget -= len(rows)
        if rows:
            groups.append(
                {entity: rows, "startPosition": 1, "maxResults": len(rows), "totalCount": len(rows)}
            )
    return {"CDCResponse": [{"QueryResponse": groups or [{}]}]}


def _deleted_stub(company: QboCompany, entity_id: str, at: datetime) -> dict:
    updated = company_time(at, company.utc_offset_minutes)
    return {
        "domain": "QBO",
        "status": "Deleted",
        "Id": entity_id,
        "MetaData": {"LastUpdatedTime": updated},
    }
