"""Which ledger notifications can mean that a payment changed (pure).

Xero sends no payment events: a payment shows as an INVOICE or CREDITNOTE event (xero.md §8),
so CONTACT and SUBSCRIPTION events never can. QBO names payments themselves, and any of its
notifications starts a Change Data Capture read (qbo.md §7): an invoice update may be the only
trace of a payment whose own notification was lost.

An invoice's creation never can, on either ledger: neither takes payments inside a new invoice,
so a payment made later is a change of its own, with its own notification. The forward sync
creates an invoice for every Keap order, and each creation's webhook would otherwise cost a
payment read (a Xero call within the organisation's 60 a minute) that can find nothing new.
"""

from __future__ import annotations

from invoicesync.events import LedgerNotification

XERO_PAYMENT_BEARING = frozenset({"invoice", "creditnote"})
# Xero's eventType CREATE, Intuit's legacy "Create" and CloudEvents "created", lower-cased.
_CREATION = frozenset({"create", "created"})


def may_signal_payment(notification: LedgerNotification) -> bool:
    if notification.destination == "xero" and notification.entity not in XERO_PAYMENT_BEARING:
        return False
    return not (notification.entity == "invoice" and notification.operation in _CREATION)
