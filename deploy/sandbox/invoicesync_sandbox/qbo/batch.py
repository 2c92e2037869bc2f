"""`/batch`: up to 30 independent items, each answered with its entity, query result or Fault."""

from __future__ import annotations

from .faults import QboFault, business_validation, invalid_value, required_param
from .operations import create_entity, delete_entity, update_entity, void_entity
from .query import parse_query, run_query
from .store import ENTITY_NAMES, QboCompany
from .writes import WriteContext

MAX_ITEMS = 30
MAX_BID_CHARS = 10
_OPERATIONS = {
    "create": create_entity,
    "update": update_entity,
    "delete": delete_entity,
    "void": void_entity,
}


def check_batch(body: object, *, with_request_id: bool) -> list[dict]:
    """The request's items, or a Fault for the whole batch (too many items, bad bIds)."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise required_param("BatchItemRequest")
    if len(items) > MAX_ITEMS:
        raise business_validation(
            f"Batch size {len(items)} exceeds the maximum of {MAX_ITEMS} items per request."
        )
    seen: set[str] = set()
    for item in items:
        bid = item.get("bId") if isinstance(item, dict) else None
        if not bid:
            raise required_param("bId")
        if with_request_id and len(str(bid)) > MAX_BID_CHARS:
            raise invalid_value("bId", f"bId {bid} is longer than {MAX_BID_CHARS} characters.")
        if bid in seen:
            raise invalid_value("bId", f"Duplicate bId {bid} in the batch.")
        seen.add(bid)
    return items


def run_batch(company: QboCompany, items: list[dict], ctx: WriteContext) -> list[dict]:
    """Run every item; none sees what another created (QBO gives no ordering or visibility)."""
    created: set[tuple[str, str]] = set()
    responses = []
    for item in items:
        item_ctx = WriteContext(
            ctx.now,
            allow_duplicate_doc_number="allowduplicatedocnum" in _options(item),
            hidden_ids=set(created),
            changes=ctx.changes,
        )
        response: dict = {"bId": item["bId"]}
        try:
            response.update(_run_item(company, item, item_ctx))
        except QboFault as fault:
            response["Fault"] = fault.as_fault()
        responses.append(response)
        created |= {(c.name, c.entity_id) for c in ctx.changes if c.operation == "Create"}
    return responses


def _run_item(company: QboCompany, item: dict, ctx: WriteContext) -> dict:
    if "Query" in item:
        return {"QueryResponse": run_query(company, parse_query(str(item["Query"])))}
    entity_keys = [k for k in item if k.lower() in ENTITY_NAMES]
    if len(entity_keys) != 1:
        raise required_param("Entity")
    entity = ENTITY_NAMES[entity_keys[0].lower()]
    operation = _OPERATIONS.get(str(item.get("operation", "")).lower())
    if operation is None:
        raise required_param("operation")
    return {entity: operation(company, entity, item[entity_keys[0]], ctx)}


def _options(item: dict) -> str:
    options = item.get("optionsData") or ""
    return str(options).lower()
