"""How the corpus suites sync a batch of Keap orders for one tenant of either ledger: onboard,
place every order with Keap's hooks held so all are in flight at once, wait until the ledger
shows each with Keap's payments, read each invoice back, then retire the tenant (every tenant
of the run writes to the sandbox's one organisation or company)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tests.e2e.destinations import ledger_of
from tests.e2e.journey import onboard_from_here, retire
from tests.e2e.keap_orders import hooks_held, newest_invoice_id, order
from tests.e2e.ledgers import KeapFigures, QboLedger, XeroLedger, keap_figures
from tests.waiting import wait_for

Synced = TypeVar("Synced")


@dataclass(frozen=True)
class SyncedOrder:
    """One Keap order as it stands and the ledger's whole invoice made of it."""

    keap: KeapFigures
    order: dict
    invoice: dict


def sync_orders(
    stack,
    keap,
    stack_redis,
    destination: str,
    *,
    ledger_settings: Callable[[str], dict] | dict,
    sync: dict,
    build: Callable[..., dict[str, str]],
    read: Callable[[XeroLedger | QboLedger, KeapFigures, dict, str], Synced],
) -> dict[str, Synced]:
    """`read(ledger, keap_figures, order, invoice_id)` for each order `build(keap)` places, by
    the name it gives it."""
    tenant = onboard_from_here(
        stack,
        newest_invoice_id(keap),
        stack_redis,
        destination,
        ledger_settings=ledger_settings,
        sync=sync,
    )
    try:
        with hooks_held(keap):
            order_ids = build(keap)
        ledger = ledger_of(stack, tenant)
        orders = {name: order(keap, order_id) for name, order_id in order_ids.items()}
        figures = {name: keap_figures(body) for name, body in orders.items()}
        wanted = {f.invoice_number: (f.paid, f.due) for f in figures.values()}

        def all_landed() -> dict[str, str] | None:
            found = ledger.invoices(*wanted)
            shown = {invoice.number: (invoice.paid, invoice.due) for invoice in found}
            if len(found) == len(wanted) and shown == wanted:
                return {invoice.number: invoice.id for invoice in found}
            return None

        ids = wait_for(all_landed, step=0.25)
        assert ids, {
            name: (ledger.invoices(f.invoice_number), tenant.activity(orders[name]["invoice_id"]))
            for name, f in figures.items()
        }
        return {
            name: read(ledger, f, orders[name], ids[f.invoice_number])
            for name, f in figures.items()
        }
    finally:
        retire(stack, tenant)
