"""Uniqueness and concurrency rules: 5010 stale SyncToken, 6140 DocNumber, 6240 names."""

from __future__ import annotations

from .faults import duplicate_doc_number, duplicate_name, required_param, stale_object
from .store import QboCompany

NAME_OWNERS = ("Customer", "Vendor", "Employee")


def check_sync_token(stored: dict, sent: object) -> None:
    """5010 unless the update carries the SyncToken the stored object has now."""
    if sent is None:
        raise required_param("SyncToken")
    if str(sent) != str(stored.get("SyncToken")):
        raise stale_object()


def next_sync_token(stored: dict) -> str:
    return str(int(stored.get("SyncToken", "0")) + 1)


def doc_number_owner(
    company: QboCompany, entity: str, doc_number: str, exclude_id: str | None = None
) -> dict | None:
    wanted = doc_number.casefold()
    for row in company.all(entity):
        if row.get("Id") != exclude_id and str(row.get("DocNumber") or "").casefold() == wanted:
            return row
    return None


def check_doc_number_free(
    company: QboCompany, entity: str, doc_number: str | None, exclude_id: str | None = None
) -> None:
    """6140, naming the transaction that holds the number (a retry recovers it from there)."""
    if not doc_number:
        return
    owner = doc_number_owner(company, entity, doc_number, exclude_id)
    if owner is not None:
        raise duplicate_doc_number(doc_number, entity, owner["Id"])


def check_display_name_free(company: QboCompany, name: str, exclude_id: str | None = None) -> None:
    """6240: DisplayName is unique across customers, vendors and employees, inactive ones too."""
    wanted = name.strip().casefold()
    for entity in NAME_OWNERS:
        for row in company.all(entity):
            same_row = row.get("Id") == exclude_id
            if not same_row and str(row.get("DisplayName", "")).strip().casefold() == wanted:
                raise duplicate_name()


def check_item_name_free(company: QboCompany, name: str, exclude_id: str | None = None) -> None:
    wanted = name.strip().casefold()
    for row in company.all("Item"):
        if row.get("Id") != exclude_id and str(row.get("Name", "")).strip().casefold() == wanted:
            raise duplicate_name("product or service")
