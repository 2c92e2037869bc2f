"""Which Keap order each invoice belongs to, as the orders read so far showed it.

An order's invoice never changes (reference/keap.md §3.3: `OrderV2.invoice_id` is the invoice
made with the order), so an `invoice.*` hook for a known invoice is read as its order: by id, in
its run's one call for all orders, instead of a search by invoice id of its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from invoicesync.domain.keap_order import KeapOrder

# Invoices remembered per process: the most recent ones, where a burst's hooks land.
CAPACITY = 100_000


class InvoiceOrders:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._order_ids: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()  # shared by the handlers of transform's worker threads

    def learn(self, tenant_id: str, order: KeapOrder) -> None:
        if not order.invoice_id:
            return
        key = (tenant_id, order.invoice_id)
        with self._lock:
            self._order_ids[key] = order.id
            self._order_ids.move_to_end(key)
            while len(self._order_ids) > self._capacity:
                self._order_ids.popitem(last=False)

    def order_id(self, tenant_id: str, invoice_id: str) -> str | None:
        return self._order_ids.get((tenant_id, invoice_id))
