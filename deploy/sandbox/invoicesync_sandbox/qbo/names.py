"""Customer, Vendor, Employee and Item as QBO stores them: unique names, derived fields."""

from __future__ import annotations

from decimal import Decimal

from .entity_rules import check_display_name_free, check_item_name_free
from .faults import invalid_value, required_param
from .store import QboCompany
from .writes import WriteContext, require_ref

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
READ_ONLY = frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName"})
_FORBIDDEN_IN_NAMES = (":", "\t", "\n")


def prepare_person(
    company: QboCompany, entity: str, body: dict, previous: dict | None = None
) -> dict:
    """Customer/Vendor/Employee: DisplayName given or built from the name parts, unique (6240)."""
    person = dict(body)
    name = str(person.get("DisplayName") or "").strip()
    if not name:
        name = " ".join(str(person[p]) for p in NAME_PARTS if person.get(p))
    if not name:
        raise required_param("DisplayName")
    if any(ch in name for ch in _FORBIDDEN_IN_NAMES):
        raise invalid_value("DisplayName", "Invalid character in DisplayName")
    check_display_name_free(company, name, previous and previous["Id"])
    email = (person.get("PrimaryEmailAddr") or {}).get("Address")
    if email is not None and ("@" not in email or "." not in email):
        raise invalid_value(
            "PrimaryEmailAddr", "Email Address does not conform to the syntax rules of RFC 822."
        )
    person["DisplayName"] = name
    person.setdefault("PrintOnCheckName", name)
    person.setdefault("Active", True)
    if entity == "Customer":
        person["FullyQualifiedName"] = name
        person.setdefault("Job", False)
        person.setdefault("BillWithParent", False)
        person.setdefault("Taxable", company.is_us)
        person.setdefault("PreferredDeliveryMethod", "Print")
        person.setdefault("CurrencyRef", {"value": company.home_currency()})
        person["Balance"] = (previous or {}).get("Balance", Decimal("0"))
        person["BalanceWithJobs"] = person["Balance"]
    return person


def prepare_item(
    company: QboCompany, body: dict, ctx: WriteContext, previous: dict | None = None
) -> dict:
    item = dict(body)
    name = str(item.get("Name") or "").strip()
    if not name:
        raise required_param("Name")
    if ":" in name:
        raise invalid_value("Name", "Invalid character in Name")
    check_item_name_free(company, name, previous and previous["Id"])
    item["Name"] = name
    item["FullyQualifiedName"] = name
    item.setdefault("Type", "NonInventory")
    item.setdefault("Active", True)
    if item["Type"] in ("Service", "NonInventory", "Inventory"):
        require_ref(company, item, "IncomeAccountRef", "Account", ctx)
    return item


def refresh_customer_balance(company: QboCompany, customer_id: str | None) -> None:
    """Open balance: unpaid invoices less unused credit memos and unapplied payments."""
    customer = company.get("Customer", customer_id or "")
    if customer is None:
        return
    balance = Decimal("0")
    for entity, field, sign in (
        ("Invoice", "Balance", 1),
        ("CreditMemo", "RemainingCredit", -1),
        ("Payment", "UnappliedAmt", -1),
    ):
        for row in company.all(entity):
            if (row.get("CustomerRef") or {}).get("value") == customer_id:
                balance += sign * Decimal(str(row.get(field) or 0))
    # A balance change is not an edit of the customer: no new SyncToken.
    customer["Balance"] = customer["BalanceWithJobs"] = balance
