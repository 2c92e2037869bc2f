"""Turns Invoice/CreditNote/Contact request elements into stored records, applying Xero's rules."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from invoicesync_sandbox.xero import balances, contact_rules, invoice_status
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.totals import LineInput, document_totals
from invoicesync_sandbox.xero.wire import date_string, ms_date, utc_string

ZERO_ID = "00000000-0000-0000-0000-000000000000"
NO_CONTACT = (
    "The Contact must contain at least 1 of the following elements to identify the contact: "
    "Name, ContactID, ContactNumber"
)
DUPLICATE_NUMBER = "Invoice # must be unique."
# Worded after the invoice message; the live text for credit notes was not captured.
DUPLICATE_CREDIT_NOTE_NUMBER = "Credit Note # must be unique."
INVOICE_ONLY_FIELDS = (
    "AmountDue",
    "AmountPaid",
    "AmountCredited",
    "CreditNotes",
    "Prepayments",
    "Overpayments",
    "IsDiscounted",
)
DISCOUNTING_TYPES = ("ACCREC",)


class ElementRejected(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _parse_date(value: Any, default: date) -> date:
    if not value:
        return default
    text = str(value)
    if text.startswith("/Date("):
        return datetime.utcfromtimestamp(int(text[6:19]) / 1000).date()
    return date.fromisoformat(text[:10])


def contact_summary(contact: dict) -> dict:
    keys = ("ContactID", "ContactNumber", "Name", "FirstName", "LastName", "EmailAddress")
    return {key: contact[key] for key in keys if key in contact} | {"HasValidationErrors": False}


def resolve_contact(books: Books, reference: dict | None, now: datetime) -> tuple[dict, bool]:
    """The contact an invoice names, creating one from a bare Name as Xero does."""
    reference = reference or {}
    if reference.get("ContactID"):
        found = books.contacts.get(str(reference["ContactID"]).lower())
        if found is None:
            raise ElementRejected([f"Contact ID {reference['ContactID']} could not be found"])
        return found, False
    if reference.get("ContactNumber"):
        for contact in books.contacts.values():
            if contact.get("ContactNumber") == reference["ContactNumber"]:
                return contact, False
    if reference.get("Name"):
        wanted = contact_rules.fold(reference["Name"])
        for contact in books.contacts.values():
            if (
                contact["ContactStatus"] == "ACTIVE"
                and contact_rules.fold(contact["Name"]) == wanted
            ):
                return contact, False
        return build_contact(books, reference, None, now), True
    raise ElementRejected([NO_CONTACT])


def build_contact(books: Books, element: dict, existing: dict | None, now: datetime) -> dict:
    merged = dict(existing or {}) | {k: v for k, v in element.items() if k != "ContactID"}
    active = [
        (c["ContactID"], c["Name"])
        for c in books.contacts.values()
        if c["ContactStatus"] == "ACTIVE"
    ]
    own_id = existing["ContactID"] if existing else None
    if merged.get("ContactStatus", "ACTIVE") == "ACTIVE":
        error = contact_rules.contact_name_error(merged.get("Name"), active, own_id)
        if error:
            raise ElementRejected([error])
    number = merged.get("ContactNumber")
    if number and any(
        c.get("ContactNumber") == number and c["ContactID"] != own_id
        for c in books.contacts.values()
    ):
        raise ElementRejected(
            [f"The contact number {number} is already assigned to another contact."]
        )
    record = {
        "ContactID": own_id or str(uuid.uuid4()),
        "ContactStatus": "ACTIVE",
        "Addresses": [{"AddressType": "STREET"}, {"AddressType": "POBOX"}],
        "Phones": [{"PhoneType": t} for t in ("DEFAULT", "DDI", "FAX", "MOBILE")],
        "ContactGroups": [],
        "ContactPersons": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "HasAttachments": False,
        "HasValidationErrors": False,
    } | merged
    record["UpdatedDateUTC"] = ms_date(now)
    record["_updated"] = now
    books.contacts[record["ContactID"]] = record
    return record


def build_invoice(
    books: Books,
    element: dict,
    existing: dict | None,
    *,
    unitdp: int,
    now: datetime,
    kind: str = "Invoice",
) -> tuple[dict, bool]:
    """The stored record for `element` (new or updated) and whether a contact was created."""
    errors: list[str] = []
    base = dict(existing or {})
    doc_type = element.get("Type") or base.get("Type")
    if not doc_type:
        raise ElementRejected([f"{kind} Type must be specified"])
    status = element.get("Status") or base.get("Status") or "DRAFT"
    has_allocations = balances.has_settlements(base)
    if existing is None:
        error = invoice_status.creation_status_error(status, kind)
    else:
        changed = _changed_fields(element, base)
        error = invoice_status.edit_error(
            base["Status"],
            changed,
            has_allocations=has_allocations,
            credited=bool(base.get("CreditNotes")),
        )
        error = error or invoice_status.status_change_error(
            base["Status"], status, has_allocations=has_allocations
        )
    if error:
        raise ElementRejected([error])
    contact, created_contact = resolve_contact(
        books, element.get("Contact") or base.get("_contact_ref"), now
    )
    number_key = "InvoiceNumber" if kind == "Invoice" else "CreditNoteNumber"
    number = element.get(number_key) or base.get(number_key)
    if doc_type in ("ACCREC", "ACCRECCREDIT") and number:
        error = _duplicate_number_error(books, kind, number, base)
        if error:
            errors.append(error)
    if not number:
        number = (
            books.next_invoice_number() if kind == "Invoice" else books.next_credit_note_number()
        )
    line_amount_types = element.get("LineAmountTypes") or base.get("LineAmountTypes") or "Exclusive"
    raw_lines = element["LineItems"] if "LineItems" in element else base.get("_lines", [])
    lines, line_errors = _lines(books, raw_lines, doc_type, unitdp)
    errors.extend(line_errors)
    if status in ("SUBMITTED", "AUTHORISED") and not raw_lines:
        errors.append(f"{kind}s must have at least one line item to be approved.")
    if errors:
        raise ElementRejected(errors)
    totals = document_totals([line for line, _ in lines], line_amount_types, unitdp)
    issued = _parse_date(element.get("Date") or base.get("_date_raw"), now.date())
    due = element.get("DueDate") or base.get("_due_raw")
    id_key = "InvoiceID" if kind == "Invoice" else "CreditNoteID"
    record = {
        "Type": doc_type,
        id_key: base.get(id_key) or str(uuid.uuid4()),
        number_key: number,
        "Reference": element.get("Reference", base.get("Reference", "")),
        "Payments": base.get("Payments", []),
        "CreditNotes": base.get("CreditNotes", []),
        "Prepayments": [],
        "Overpayments": [],
        "AmountPaid": base.get("AmountPaid", Decimal("0.00")),
        "AmountCredited": base.get("AmountCredited", Decimal("0.00")),
        "SentToContact": element.get("SentToContact", base.get("SentToContact", False)),
        "CurrencyRate": Decimal("1.000000"),
        "HasErrors": False,
        "IsDiscounted": totals.total_discount != 0,
        "HasAttachments": False,
        "Contact": contact_summary(contact),
        "DateString": date_string(issued),
        "Date": ms_date(issued),
        "Status": status,
        "LineAmountTypes": line_amount_types,
        "LineItems": [
            _line_record(raw, computed, base)
            for (_, raw), computed in zip(lines, totals.lines, strict=True)
        ],
        "SubTotal": totals.sub_total,
        "TotalTax": totals.total_tax,
        "Total": totals.total,
        "TotalDiscount": totals.total_discount,
        "CurrencyCode": element.get("CurrencyCode", base.get("CurrencyCode", "USD")),
        "UpdatedDateUTC": ms_date(now),
        "UpdatedDateUTCString": utc_string(now),
        "_updated": now,
        "_date": issued,
        "_date_raw": issued.isoformat(),
        "_lines": raw_lines,
        "_contact_ref": {"ContactID": contact["ContactID"]},
    }
    if due:
        due_date = _parse_date(due, issued)
        record |= {"DueDateString": date_string(due_date), "DueDate": ms_date(due_date)}
        record |= {"_due": due_date, "_due_raw": due_date.isoformat()}
    if element.get("Url") or base.get("Url"):
        record["Url"] = element.get("Url", base.get("Url"))
    due_amount = totals.total - record["AmountPaid"] - record["AmountCredited"]
    record["AmountDue"] = due_amount if status not in ("VOIDED", "DELETED") else Decimal("0.00")
    if kind == "CreditNote":
        record = _credit_note_shape(record, base)
    return record, created_contact


def _duplicate_number_error(books: Books, kind: str, number: str, base: dict) -> str | None:
    """Sales invoice and sales credit note numbers are unique among their own kind."""
    if kind == "Invoice":
        id_key, number_key, others, message = (
            "InvoiceID",
            "InvoiceNumber",
            books.invoices.values(),
            DUPLICATE_NUMBER,
        )
    else:
        id_key, number_key, others, message = (
            "CreditNoteID",
            "CreditNoteNumber",
            books.credit_notes.values(),
            DUPLICATE_CREDIT_NOTE_NUMBER,
        )
    own = base.get(id_key)
    for other in others:
        same = other.get(number_key, "").lower() == number.lower()
        if same and other[id_key] != own and other["Status"] != "DELETED":
            return message
    return None


def _credit_note_shape(record: dict, base: dict) -> dict:
    """A credit note carries RemainingCredit and Allocations instead of the invoice balances."""
    allocations = base.get("Allocations", [])
    used = sum((a["Amount"] for a in allocations), Decimal("0.00"))
    used += sum((p["Amount"] for p in record["Payments"]), Decimal("0.00"))
    shaped = {k: v for k, v in record.items() if k not in INVOICE_ONLY_FIELDS}
    live = record["Status"] not in ("VOIDED", "DELETED")
    shaped["RemainingCredit"] = record["Total"] - used if live else Decimal("0.00")
    shaped["Allocations"] = allocations
    return shaped


def _changed_fields(element: dict, base: dict) -> set[str]:
    changed = set()
    for key, value in element.items():
        if key in ("InvoiceID", "CreditNoteID", "Status", "Type"):
            continue
        if key == "Contact":
            if (value or {}).get("ContactID", base["Contact"]["ContactID"]) != base["Contact"][
                "ContactID"
            ]:
                changed.add(key)
        elif key == "LineItems":
            if value != base.get("_lines"):
                changed.add(key)
        elif key in ("Date", "DueDate"):
            raw_key = "_date_raw" if key == "Date" else "_due_raw"
            if str(value)[:10] != base.get(raw_key, ""):
                changed.add(key)
        elif base.get(key) != value:
            changed.add(key)
    return changed


def _lines(
    books: Books, raw_lines: list[dict], doc_type: str, unitdp: int
) -> tuple[list[tuple[LineInput, dict]], list[str]]:
    lines, errors = [], []
    items_by_code = {item["Code"].lower(): item for item in books.items.values()}
    for raw in raw_lines:
        raw = dict(raw)
        item = None
        if raw.get("ItemCode"):
            item = items_by_code.get(str(raw["ItemCode"]).lower())
            if item is None:
                errors.append(f"Item code '{raw['ItemCode']}' is not valid")
                continue
            sales = item.get("SalesDetails", {})
            raw.setdefault("UnitAmount", sales.get("UnitPrice"))
            raw.setdefault("AccountCode", sales.get("AccountCode"))
            raw.setdefault("TaxType", sales.get("TaxType"))
            raw.setdefault("Description", item.get("Description"))
        account = None
        if raw.get("AccountCode"):
            account = books.account_by_code(str(raw["AccountCode"]))
            if account is None or account["Status"] != "ACTIVE":
                errors.append(
                    f"Account code '{raw['AccountCode']}' is not a valid code for this document."
                )
                continue
        tax_type = raw.get("TaxType") or (account or {}).get("TaxType") or "NONE"
        tax_rate = books.tax_rates.get(tax_type)
        if tax_rate is None:
            errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used "
                "with this type of transaction."
            )
            continue
        if (
            raw.get("DiscountRate") or raw.get("DiscountAmount")
        ) and doc_type not in DISCOUNTING_TYPES:
            errors.append("Discounts are not supported on this type of document.")
            continue
        raw["TaxType"] = tax_type
        lines.append(
            (
                LineInput(
                    quantity=_decimal(raw.get("Quantity")),
                    unit_amount=_decimal(raw.get("UnitAmount")),
                    line_amount=_decimal(raw.get("LineAmount")),
                    discount_rate=_decimal(raw.get("DiscountRate")),
                    discount_amount=_decimal(raw.get("DiscountAmount")),
                    tax_amount=_decimal(raw.get("TaxAmount")),
                    tax_rate_percent=tax_rate["EffectiveRate"],
                ),
                raw,
            )
        )
    return lines, errors


def _line_record(raw: dict, computed: Any, base: dict) -> dict:
    known = {line.get("LineItemID") for line in base.get("LineItems", [])}
    line_id = raw.get("LineItemID") if raw.get("LineItemID") in known else str(uuid.uuid4())
    record = {
        "Description": raw.get("Description", ""),
        "UnitAmount": computed.unit_amount,
        "TaxType": raw["TaxType"],
        "TaxAmount": computed.tax_amount,
        "LineAmount": computed.line_amount,
        "Tracking": raw.get("Tracking", []),
        "Quantity": computed.quantity,
        "LineItemID": line_id,
        "ValidationErrors": [],
    }
    for optional in ("AccountCode", "ItemCode", "DiscountRate", "DiscountAmount"):
        if raw.get(optional) is not None:
            record[optional] = raw[optional]
    return record
