"""Keap assumptions no document settles (reference/keap.md §2.2, §3.3, §3.6, gotchas 4, 10, 11),
checked read-only through the project's Keap client against one connected tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from admin.smoke.results import (
    PROVIDER_ERRORS,
    CheckResult,
    failed,
    guarded,
    passed,
    skipped,
)
from invoicesync.clients.keap import KeapClient
from invoicesync.domain.keap_amount_checks import (
    KeapAmountMismatch,
    check_payments_cover_total_paid,
)
from invoicesync.domain.keap_order import KeapOrder

SAMPLE_ORDERS = 10
MODIFIED_WINDOW = timedelta(days=365)

HOOK_ID_KIND = "keap invoice.payment hook id kind"
ORDER_BY_ID = "keap order_by id asc"
ORDER_BY_MODIFICATION = "keap order_by modification_time asc with modified_since_time"
ORDER_UNITS = "keap money units (order amounts vs formatted_amount)"
PAYMENT_UNITS = "keap money units (payment rows vs total_paid)"
INVOICE_NUMBER = "keap Invoice # is the invoice id"


def keap_checks(
    client: KeapClient, tenant_id: str, *, sample: int = SAMPLE_ORDERS, now: datetime | None = None
) -> list[CheckResult]:
    """Every Keap check, in the order they are printed."""
    since = (now or datetime.now(UTC)) - MODIFIED_WINDOW
    results = [
        guarded(HOOK_ID_KIND, lambda: payment_hook_id_kind(client, tenant_id)),
        guarded(ORDER_BY_ID, lambda: order_by_id_sorts(client, tenant_id, sample)),
        guarded(
            ORDER_BY_MODIFICATION,
            lambda: order_by_modification_sorts(client, tenant_id, since, sample),
        ),
    ]
    try:
        orders = client.list_orders(tenant_id, order_by="id desc", page_size=sample).items
    except PROVIDER_ERRORS as exc:
        seen = f"could not list recent orders: {type(exc).__name__}: {exc}"
        return results + [failed(name, seen) for name in (ORDER_UNITS, PAYMENT_UNITS)]
    return results + [
        guarded(ORDER_UNITS, lambda: order_units_agree(client, tenant_id, orders)),
        guarded(PAYMENT_UNITS, lambda: payment_rows_cover_total_paid(client, tenant_id, orders)),
        invoice_number_is_invoice_id(orders),
    ]


def payment_hook_id_kind(client: KeapClient, tenant_id: str) -> CheckResult:
    """The newest payment's id read both ways the client reads a hook id: do both name the
    same orders, or does only one resolve?"""
    newest = client.newest_payment_id(tenant_id)
    if newest == 0:
        return skipped(HOOK_ID_KIND, "the app holds no payments: record one, then run again")
    payment_id = str(newest)
    as_payment = client.order_ids_of_sales_payment(tenant_id, payment_id)
    as_transaction = client.order_ids_of_transaction(tenant_id, payment_id)
    seen = (
        f"id {payment_id}: v2 sales payment -> {_orders(as_payment)}; "
        f"v1 GET /transactions/{payment_id} -> {_orders(as_transaction)}"
    )
    if not as_payment:
        return failed(HOOK_ID_KIND, f"{seen} (the newest listed payment does not resolve by id)")
    if as_transaction and set(as_transaction) != set(as_payment):
        return failed(HOOK_ID_KIND, f"{seen} (one id names different orders in v1 and v2)")
    return passed(HOOK_ID_KIND, seen)


def order_by_id_sorts(client: KeapClient, tenant_id: str, sample: int) -> CheckResult:
    ids = [order.id for order in client.list_orders(tenant_id, page_size=sample).items]
    return _sorted_result(ORDER_BY_ID, "order ids", ids, [_id_key(i) for i in ids])


def order_by_modification_sorts(
    client: KeapClient, tenant_id: str, since: datetime, sample: int
) -> CheckResult:
    """The poll's own request: modified since a cursor, oldest change first."""
    page = client.list_orders_modified_since(tenant_id, since, page_size=sample)
    times = [order.modification_time for order in page.items]
    if any(moment is None for moment in times):
        return failed(ORDER_BY_MODIFICATION, "an order came back without modification_time")
    shown = [moment.isoformat() for moment in times if moment is not None]
    return _sorted_result(ORDER_BY_MODIFICATION, "modification times", shown, shown)


def order_units_agree(
    client: KeapClient, tenant_id: str, orders: Sequence[KeapOrder]
) -> CheckResult:
    """Each order read with the client's unit check (CurrencyValue.amount as minor units must
    equal formatted_amount); the client raises on the first disagreement."""
    if not orders:
        return skipped(ORDER_UNITS, "the app holds no orders")
    checked = [client.get_order(tenant_id, order.id) for order in orders]
    first = checked[0]
    return passed(
        ORDER_UNITS,
        f"{len(checked)} orders agree, e.g. order {first.id} total {first.total} {first.currency}"
        " read as minor units",
    )


def payment_rows_cover_total_paid(
    client: KeapClient, tenant_id: str, orders: Sequence[KeapOrder]
) -> CheckResult:
    """An order's payment rows, read as major units, must add up to its total_paid."""
    compared: list[str] = []
    for order in orders:
        payments = client.list_order_payments(tenant_id, order.id)
        if not payments:
            continue
        try:
            check_payments_cover_total_paid(order.id, order.total_paid, payments)
        except KeapAmountMismatch as exc:
            return failed(PAYMENT_UNITS, str(exc))
        compared.append(f"order {order.id} paid {order.total_paid}")
    if not compared:
        return skipped(PAYMENT_UNITS, f"none of the {len(orders)} newest orders has payments")
    return passed(PAYMENT_UNITS, f"rows sum to total_paid: {', '.join(compared)}")


def invoice_number_is_invoice_id(orders: Sequence[KeapOrder]) -> CheckResult:
    """Keap marks invoice_number "not yet supported" on read; where it is given, it shows
    whether the number users see is the invoice id the sync falls back to."""
    numbered = [order for order in orders if order.invoice_number]
    if not numbered:
        example = next((o for o in orders if o.invoice_id), None)
        hint = (
            f"; compare order {example.id}'s invoice_id {example.invoice_id} with the Invoice #"
            " Keap's screens show"
            if example
            else ""
        )
        return skipped(INVOICE_NUMBER, f"no order carries invoice_number{hint}")
    pairs = [
        f"order {o.id}: invoice_number {o.invoice_number}, invoice_id {o.invoice_id}"
        for o in numbered
    ]
    differing = [o for o in numbered if o.invoice_number != o.invoice_id]
    if differing:
        return failed(INVOICE_NUMBER, "; ".join(pairs))
    return passed(INVOICE_NUMBER, "; ".join(pairs[:3]))


def _sorted_result(name: str, what: str, shown: list[str], keys: Sequence[Any]) -> CheckResult:
    if len(keys) < 2:
        return skipped(name, f"accepted, but {len(keys)} rows are too few to show an order")
    listed = ", ".join(shown[:5]) + (", ..." if len(shown) > 5 else "")
    if list(keys) != sorted(keys):
        return failed(name, f"accepted but not ascending: {what} {listed}")
    return passed(name, f"{what} ascending: {listed}")


def _id_key(order_id: str) -> tuple[int, str]:
    return (int(order_id), "") if order_id.isdigit() else (0, order_id)


def _orders(order_ids: tuple[str, ...]) -> str:
    return f"orders {', '.join(order_ids)}" if order_ids else "not found"
