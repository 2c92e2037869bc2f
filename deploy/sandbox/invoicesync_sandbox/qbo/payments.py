"""Payments: linking to invoices and credit memos, open balances, unapplied credit."""

from __future__ import annotations

from decimal import Decimal

from .entity_rules import next_sync_token
from .faults import business_validation, invalid_value, required_param
from .store import QboCompany
from .transaction_math import amount_of
from .writes import WriteContext, customer_ref, existing, ref_value, require_ref

LINKABLE = ("Invoice", "CreditMemo")
READ_ONLY = frozenset({"UnappliedAmt"})


def links_of(payment: dict) -> list[tuple[str, str, Decimal]]:
    """(TxnType, TxnId, amount) for every LinkedTxn on the payment's lines."""
    found = []
    for line in payment.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            found.append((link.get("TxnType"), str(link.get("TxnId")), Decimal(line["Amount"])))
    return found


def applied_amount(company: QboCompany, entity: str, txn_id: str) -> Decimal:
    total = Decimal("0")
    for payment in company.all("Payment"):
        for kind, target, amount in links_of(payment):
            if kind == entity and target == txn_id:
                total += amount
    return total


def prepare_payment(
    company: QboCompany, body: dict, ctx: WriteContext, previous: dict | None = None
) -> dict:
    """Validate the applications against open balances and work out UnappliedAmt."""
    customer = require_ref(company, body, "CustomerRef", "Customer", ctx)
    if body.get("TotalAmt") is None:
        raise required_param("TotalAmt")
    payment = dict(body)
    payment["CustomerRef"] = customer_ref(customer)
    payment["TotalAmt"] = amount_of(body["TotalAmt"], "TotalAmt")
    payment["Line"] = _checked_lines(company, body.get("Line") or [], customer["Id"], ctx, previous)
    net_applied = Decimal("0")
    for kind, _, amount in links_of(payment):
        net_applied += amount if kind == "Invoice" else -amount
    if net_applied > payment["TotalAmt"]:
        raise business_validation(
            "The payment amount must be at least the amount applied to transactions."
        )
    payment["UnappliedAmt"] = payment["TotalAmt"] - net_applied
    if ref_value(payment, "DepositToAccountRef") is None:
        undeposited = next(
            a for a in company.all("Account") if a.get("AccountSubType") == "UndepositedFunds"
        )
        payment["DepositToAccountRef"] = {"value": undeposited["Id"]}
    else:
        require_ref(company, payment, "DepositToAccountRef", "Account", ctx)
    payment.setdefault("CurrencyRef", {"value": company.home_currency()})
    payment.setdefault("ProcessPayment", False)
    return payment


def _checked_lines(
    company: QboCompany, lines: list, customer_id: str, ctx: WriteContext, previous: dict | None
) -> list[dict]:
    before = {(k, t): a for k, t, a in links_of(previous)} if previous else {}
    checked = []
    for given in lines:
        if not isinstance(given, dict):
            raise invalid_value("Line", "Each line must be an object")
        line = dict(given)
        line["Amount"] = amount_of(line.get("Amount"), "Line.Amount")
        for link in line.get("LinkedTxn") or []:
            kind, target = link.get("TxnType"), str(link.get("TxnId"))
            if kind not in LINKABLE:
                raise invalid_value("LinkedTxn.TxnType", f"Unsupported TxnType: {kind}")
            txn = existing(company, kind, target, ctx)
            if ref_value(txn, "CustomerRef") != customer_id:
                raise business_validation(f"{kind} {target} belongs to another customer.")
            open_amount = Decimal(txn["Balance"]) + before.get((kind, target), Decimal("0"))
            if line["Amount"] > open_amount:
                raise business_validation(
                    f"The amount applied to {kind} {target} exceeds its open balance."
                )
        checked.append(line)
    return checked


def refresh_linked(
    company: QboCompany, payment_id: str, targets: set[tuple[str, str]], ctx: WriteContext
) -> None:
    """Recompute the open balance of every transaction a payment touched, and its back-link."""
    for kind, target in targets:
        txn = company.get(kind, target)
        if txn is None:
            continue
        txn = dict(txn)
        applied = applied_amount(company, kind, target)
        txn["Balance"] = Decimal(txn["TotalAmt"]) - applied
        if kind == "CreditMemo":
            txn["RemainingCredit"] = txn["Balance"]
        still_linked = any(
            (k, t) == (kind, target)
            for k, t, _ in links_of(company.get("Payment", payment_id) or {})
        )
        others = [
            link
            for link in txn.get("LinkedTxn") or []
            if not (link.get("TxnType") == "Payment" and link.get("TxnId") == payment_id)
        ]
        if still_linked:
            others.append({"TxnId": payment_id, "TxnType": "Payment"})
        txn["LinkedTxn"] = others
        txn["SyncToken"] = next_sync_token(txn)
        company.put(kind, txn, ctx.now, created=False)
        ctx.record(kind, target, "Update")


def targets_of(payment: dict | None) -> set[tuple[str, str]]:
    return {(k, t) for k, t, _ in links_of(payment or {})}
