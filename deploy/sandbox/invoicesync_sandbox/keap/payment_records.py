"""Recording a payment: one sales Payment, and one invoice payment row per order it covers."""

from datetime import datetime
from decimal import Decimal

from invoicesync_sandbox.keap.rules import KeapValidationError, check_payment_amount, order_balance
from invoicesync_sandbox.keap.store import KeapStore, Order, OrderPayment, Payment


def check_allocations(allocations: list[tuple[Order, Decimal]]) -> None:
    """One contact's money, each order once, none paid beyond its balance."""
    if not allocations:
        raise KeapValidationError("a payment must apply to at least one order")
    orders = [order for order, _ in allocations]
    if len({order.id for order in orders}) != len(orders):
        raise KeapValidationError("a payment applies to each order at most once")
    if len({order.contact.id for order in orders}) != 1:
        raise KeapValidationError("a payment's orders must all belong to one contact")
    for order, amount in allocations:
        check_payment_amount(amount, order_balance(order.total, order.total_paid))


def record_payment(
    store: KeapStore,
    allocations: list[tuple[Order, Decimal]],
    *,
    method_type: str,
    note: str,
    pay_time: datetime,
    now: datetime,
    skip_commission: bool,
) -> Payment:
    """Store a checked payment; the caller holds the state lock and announces it afterwards."""
    payment_id, transaction_id = store.next_payment_ids()
    payment = Payment(
        id=payment_id,
        transaction_id=transaction_id,
        contact=allocations[0][0].contact,
        method_type=method_type,
        note=note,
        pay_time=pay_time,
        update_time=now,
        commissioned=not skip_commission,
        allocations={order.id: amount for order, amount in allocations},
    )
    for order, amount in allocations:
        row = OrderPayment(
            id=store.next_order_payment_id(),
            payment_id=payment_id,
            amount=amount,
            note=note,
            pay_time=pay_time,
            last_updated_time=now,
            skip_commission=skip_commission,
        )
        # No `order.modification_time = now`: a payment is a record of its own, and nothing
        # Keap documents says it counts as an order modification (issue 16 item 5), so the
        # order poll cannot be relied on to see it; the payments poll does.
        order.payments.append(row)
    store.payments[payment_id] = payment
    return payment
