"""What every write shares: its context (time, options, batch visibility) and reference checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .faults import object_not_found, required_param
from .store import EntityChange, QboCompany

# Fields QBO owns; a client sending them is ignored, a full update never clears them.
SYSTEM_FIELDS = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})


@dataclass
class WriteContext:
    now: datetime
    allow_duplicate_doc_number: bool = False
    # Ids created by other items of the same batch: QBO batch items cannot see each other.
    hidden_ids: set[tuple[str, str]] = field(default_factory=set)
    changes: list[EntityChange] = field(default_factory=list)

    def record(self, entity: str, entity_id: str, operation: str) -> None:
        self.changes.append(EntityChange(entity, entity_id, operation, self.now))


def ref_value(body: dict, key: str) -> str | None:
    ref = body.get(key)
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    return None


def require_ref(company: QboCompany, body: dict, key: str, entity: str, ctx: WriteContext) -> dict:
    """The referenced object, or 2020 when the ref is missing and 610 when it does not exist."""
    value = ref_value(body, key)
    if value is None:
        raise required_param(key)
    return existing(company, entity, value, ctx)


def customer_ref(customer: dict) -> dict:
    """A CustomerRef as QBO returns it: the Id and the customer's DisplayName (every
    response sample in Intuit's invoice and payment references, e.g. `{"value": "1",
    "name": "Amy's Bird Sanctuary"}`; XSD ReferenceType, qbo.md §0)."""
    return {"value": customer["Id"], "name": customer.get("DisplayName", "")}


def existing(company: QboCompany, entity: str, entity_id: str, ctx: WriteContext) -> dict:
    row = company.get(entity, entity_id)
    if row is None or (entity, entity_id) in ctx.hidden_ids or row.get("Active") is False:
        raise object_not_found(entity, entity_id)
    return row


def new_entity(company: QboCompany, body: dict) -> dict:
    fresh = {k: v for k, v in body.items() if k not in SYSTEM_FIELDS}
    return {"Id": company.new_id(), "SyncToken": "0", "domain": "QBO", "sparse": False, **fresh}


def merged_for_update(stored: dict, body: dict, read_only: frozenset[str]) -> dict:
    """Sparse: supplied fields over the stored ones. Full: omitted writable fields are cleared."""
    supplied = {k: v for k, v in body.items() if k not in SYSTEM_FIELDS | read_only}
    if body.get("sparse") is True:
        return {**stored, **supplied}
    kept = {k: v for k, v in stored.items() if k in SYSTEM_FIELDS | read_only}
    return {**kept, **supplied}
