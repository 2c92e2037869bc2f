"""The REST hook events each Keap change fires, and which kind of id each one carries.

`order.*` carries the order id, `invoice.*` the order's invoice id (a separate sequence) and
`invoice.payment.*` the payment's v1 transaction id, which `GET /v1/transactions/{id}` resolves
and `GET /v2/sales/payments?filter=id==` does not (see `payment_added`).
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


def payment_added(hooks: HookBatcher, payment: Payment) -> None:
    """Only `invoice.payment.add`: no Keap document says a payment also fires `order.edit` or
    `invoice.edit` (reference/keap.md §2.2 lists the events; issue 16 item 5), so the sync
    must follow the payment hook itself.

    Its id is the v1 transaction id: the public C# Keap hook sample reads
    `invoice.payment.*` ids with `GET /v1/transactions/{id}` (reference/keap.md §2.2, §8.4;
    what real Keap sends is unverified, §10). Transaction ids are a sequence of their own,
    so they are not valid v2 payment ids: the inconvenient case a client must survive.
    """
    hooks.record("invoice.payment.add", payment.transaction_id)
