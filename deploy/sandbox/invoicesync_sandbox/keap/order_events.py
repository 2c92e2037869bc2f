"""The REST hook events each Keap change fires, and which kind of id each one carries.

`order.*` carries the order id, `invoice.*` the order's invoice id (a separate sequence) and
`invoice.payment.*` the sales payment id, which `GET /sales/payments?filter=id==` resolves.
"""

from invoicesync_sandbox.keap.hook_delivery import HookBatcher
from invoicesync_sandbox.keap.store import Order, Payment


def order_created(hooks: HookBatcher, order: Order) -> None:
    hooks.record("order.add", order.id)
    hooks.record("invoice.add", order.invoice_id)


def order_changed(hooks: HookBatcher, order: Order) -> None:
    hooks.record("order.edit", order.id)
    hooks.record("invoice.edit", order.invoice_id)


def order_deleted(hooks: HookBatcher, order: Order) -> None:
    hooks.record("order.delete", order.id)
    hooks.record("invoice.delete", order.invoice_id)


def payment_added(hooks: HookBatcher, payment: Payment, orders: list[Order]) -> None:
    hooks.record("invoice.payment.add", payment.id)
    for order in orders:
        order_changed(hooks, order)
