"""Ask reverse-sync to record given ledger payments in Keap now: a bookkeeper's payment entered
in Xero or QBO, which re-sync brings to Keap even when the tenant's scheduled ReverseSync is off
or the payment predates its start date. Reverse-sync reads each from the ledger and applies all
of its other rules (echoes, once only, the order balance, invoices InvoiceSync did not write);
what it did goes to the activity log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from admin.admin_services import AdminServices
from admin.tenant_operations import require_tenant
from invoicesync.domain.canonical import Destination
from invoicesync.errors import InvalidInput
from invoicesync.events import EventType, LedgerPaymentRecordRequest, Topic, envelope_for
from invoicesync.kafka.publisher import Outgoing


def request_keap_recording(
    services: AdminServices,
    tenant_id: str,
    destination: Destination,
    ledger_payment_ids: Sequence[str],
    *,
    invoice_ids: Mapping[str, str] | None = None,
    requested_by: str = "",
    why: str = "",
) -> int:
    """Publish one request per ledger payment id (`invoice_ids`: payment id → the ledger
    invoice it pays, when known). Returns how many were published."""
    tenant = require_tenant(services, tenant_id)
    if destination is not tenant.destination:
        raise InvalidInput(
            f"the tenant's ledger is {tenant.destination.value}, not {destination.value}",
            field="destination",
        )
    payment_ids = list(dict.fromkeys(ledger_payment_ids))
    if any(not payment_id for payment_id in payment_ids):
        raise InvalidInput("a ledger payment id is empty", field="ledger_payment_ids")
    now = datetime.now(UTC)
    known = invoice_ids or {}
    services.publisher.publish_all(
        [
            Outgoing(
                Topic.LEDGER_NOTIFICATIONS,
                envelope_for(
                    EventType.LEDGER_PAYMENT_RECORD_REQUESTED,
                    tenant.id,
                    LedgerPaymentRecordRequest(
                        destination=destination.value,
                        payment_id=payment_id,
                        requested_at=now,
                        invoice_id=known.get(payment_id, ""),
                        requested_by=requested_by,
                        why=why,
                    ),
                ),
            )
            for payment_id in payment_ids
        ]
    )
    return len(payment_ids)
