"""Create, update, delete, void and read one entity in a company, with QBO's rules applied."""

from __future__ import annotations

from decimal import Decimal

from . import names, payments, sales_forms
from .entity_rules import check_sync_token, next_sync_token
from .faults import business_validation, object_not_found, required_param, unsupported_operation
from .store import QboCompany
from .writes import WriteContext, merged_for_update, new_entity

WRITABLE = (
    "Invoice",
    "CreditMemo",
    "RefundReceipt",
    "Payment",
    "Customer",
    "Vendor",
    "Employee",
    "Item",
)
DELETABLE = ("Invoice", "CreditMemo", "RefundReceipt", "Payment")
_READ_ONLY = {
    **{form: sales_forms.READ_ONLY for form in sales_forms.SALES_FORMS},
    "Payment": payments.READ_ONLY,
    "Customer": names.READ_ONLY,
    "Vendor": names.READ_ONLY,
    "Employee": names.READ_ONLY,
    "Item": frozenset({"FullyQualifiedName"}),
}


def read_entity(company: QboCompany, entity: str, entity_id: str) -> dict:
    row = company.get(entity, entity_id)
    if row is None:
        raise object_not_found(entity, entity_id)
    return row


def create_entity(company: QboCompany, entity: str, body: dict, ctx: WriteContext) -> dict:
    _check_writable(entity, body)
    prepared = _prepare(company, entity, body, ctx, previous=None)
    row = company.put(entity, new_entity(company, prepared), ctx.now, created=True)
    ctx.record(entity, row["Id"], "Create")
    if entity == "Payment":
        payments.refresh_linked(company, row["Id"], payments.targets_of(row), ctx)
    _refresh_balances(company, entity, row)
    return company.get(entity, row["Id"]) or row


def update_entity(company: QboCompany, entity: str, body: dict, ctx: WriteContext) -> dict:
    _check_writable(entity, body)
    stored = _stored_for_write(company, entity, body)
    merged = merged_for_update(stored, body, _READ_ONLY.get(entity, frozenset()))
    if entity in sales_forms.SALES_FORMS and "TxnTaxDetail" not in body and "Line" in body:
        # New lines: tax is worked out again unless the client overrides it again.
        code = (stored.get("TxnTaxDetail") or {}).get("TxnTaxCodeRef")
        merged["TxnTaxDetail"] = {"TxnTaxCodeRef": code} if code else {}
    prepared = _prepare(company, entity, merged, ctx, previous=stored)
    prepared["SyncToken"] = next_sync_token(stored)
    row = company.put(entity, prepared, ctx.now, created=False)
    ctx.record(entity, row["Id"], "Update")
    if entity == "Payment":
        targets = payments.targets_of(stored) | payments.targets_of(row)
        payments.refresh_linked(company, row["Id"], targets, ctx)
    _refresh_balances(company, entity, stored, row)
    return company.get(entity, row["Id"]) or row


def delete_entity(company: QboCompany, entity: str, body: dict, ctx: WriteContext) -> dict:
    if entity not in DELETABLE:
        raise unsupported_operation(f"Operation Delete is not supported for {entity}.")
    stored = _stored_for_write(company, entity, body)
    _refuse_when_linked(company, entity, stored, "deleted")
    company.remove(entity, stored["Id"], ctx.now)
    ctx.record(entity, stored["Id"], "Delete")
    if entity == "Payment":
        payments.refresh_linked(company, stored["Id"], payments.targets_of(stored), ctx)
    _refresh_balances(company, entity, stored)
    return {"status": "Deleted", "domain": "QBO", "Id": stored["Id"]}


def void_entity(company: QboCompany, entity: str, body: dict, ctx: WriteContext) -> dict:
    """Invoice `operation=void`, Payment `operation=update&include=void`: amounts go to zero."""
    if entity not in ("Invoice", "Payment", "CreditMemo", "RefundReceipt"):
        raise unsupported_operation(f"Operation Void is not supported for {entity}.")
    stored = _stored_for_write(company, entity, body)
    _refuse_when_linked(company, entity, stored, "voided")
    voided = _zeroed(stored)
    voided["SyncToken"] = next_sync_token(stored)
    row = company.put(entity, voided, ctx.now, created=False)
    ctx.record(entity, row["Id"], "Void")
    if entity == "Payment":
        payments.refresh_linked(company, row["Id"], payments.targets_of(stored), ctx)
    _refresh_balances(company, entity, row)
    return company.get(entity, row["Id"]) or row


def _refresh_balances(company: QboCompany, entity: str, *rows: dict) -> None:
    if entity in (*sales_forms.SALES_FORMS, "Payment"):
        for customer_id in {(row.get("CustomerRef") or {}).get("value") for row in rows}:
            names.refresh_customer_balance(company, customer_id)


def _check_writable(entity: str, body: object) -> None:
    if entity not in WRITABLE:
        raise unsupported_operation(f"Operation Create/Update is not supported for {entity}.")
    if not isinstance(body, dict):
        raise required_param(entity)


def _stored_for_write(company: QboCompany, entity: str, body: dict) -> dict:
    entity_id = body.get("Id") if isinstance(body, dict) else None
    if entity_id in (None, ""):
        raise required_param("Id")
    stored = read_entity(company, entity, str(entity_id))
    check_sync_token(stored, body.get("SyncToken"))
    return stored


def _prepare(
    company: QboCompany, entity: str, body: dict, ctx: WriteContext, previous: dict | None
) -> dict:
    if entity in sales_forms.SALES_FORMS:
        return sales_forms.prepare_sales_form(company, entity, body, ctx, previous)
    if entity == "Payment":
        return payments.prepare_payment(company, body, ctx, previous)
    if entity == "Item":
        return names.prepare_item(company, body, ctx, previous)
    return names.prepare_person(company, entity, body, previous)


def _refuse_when_linked(company: QboCompany, entity: str, stored: dict, verb: str) -> None:
    if entity in payments.LINKABLE and payments.applied_amount(company, entity, stored["Id"]):
        raise business_validation(
            f"This transaction has payments applied to it and cannot be {verb}. "
            "Remove the linked payments first."
        )


def _zeroed(stored: dict) -> dict:
    voided = dict(stored)
    lines = []
    for line in stored.get("Line") or []:
        line = dict(line, Amount=Decimal("0"))
        detail_key = line.get("DetailType")
        if isinstance(line.get(detail_key), dict) and "Qty" in line[detail_key]:
            line[detail_key] = dict(line[detail_key], Qty=Decimal("0"))
        lines.append(line)
    voided["Line"] = lines
    for field in ("TotalAmt", "Balance", "UnappliedAmt", "RemainingCredit"):
        if field in voided:
            voided[field] = Decimal("0")
    if "TxnTaxDetail" in voided:
        voided["TxnTaxDetail"] = dict(voided["TxnTaxDetail"], TotalTax=Decimal("0"), TaxLine=[])
    note = stored.get("PrivateNote")
    voided["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    return voided
