"""Record a ledger payment on its Keap order, exactly once, and say what happened.

Keap has no idempotency key, so the order's payments are listed first and a payment whose note
carries this ledger payment's marker means it is already there; a Redis mark written after
success saves the listing next time. The check and the write run under a lock per payment, so
the poller and the worker (or two replicas) never both write. Payments the forward sync wrote
are never echoed back; refunds and deletions become exceptions (Keap has no API for them). A payment
on an invoice the id map does not know is matched through the ledger invoice's marker (and the
mapping restored); one that cannot be matched yet is kept and retried, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from invoicesync.clients.keap import KeapClient
from invoicesync.clients.provider_http import ProviderRejected
from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_to_keap import (
    DestinationPayment,
    KeapManualPayment,
    KeapRecordingAction,
    keap_recording_decision,
)
from invoicesync.domain.sync_rules import SkipReason
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.events import SyncAction
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.locks import tenant_lock
from invoicesync.writing.outcomes import INVOICE, PAYMENT, sync_result
from reverse_sync.handled_payments import HandledPayments, UnresolvedPayments
from reverse_sync.invoice_lookup import LedgerInvoiceLookup, LookupOutcome
from reverse_sync.ledger_payments import LedgerPayment, LedgerPaymentKind

log = logging.getLogger(__name__)

RESULT_OBJECT_TYPE = "reverse_payment"
DELETION = "deleted"
REFUND = "refund"
LOCK_TTL_SECONDS = 120.0
LOCK_WAIT_SECONDS = 60.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class KeapPaymentRecorder:
    def __init__(
        self,
        keap: KeapClient,
        id_map: IdMap,
        client: redis.Redis,
        lookup: LedgerInvoiceLookup,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._keap = keap
        self._id_map = id_map
        self._redis = client
        self._lookup = lookup
        self._handled = HandledPayments(client)
        self._unresolved = UnresolvedPayments(client)
        self._clock = clock

    def unresolved(self, tenant_id: str, destination: Destination) -> list[LedgerPayment]:
        """The payments kept for another try, as readings to record again."""
        return [
            LedgerPayment(payment, LedgerPaymentKind.PAYMENT, from_keap=False)
            for payment in self._unresolved.kept(tenant_id, destination)
        ]

    def record(
        self,
        tenant_id: str,
        seen: LedgerPayment,
        settings: TenantSettings,
        *,
        requested: bool = False,
    ) -> list[Outgoing]:
        """The sync results of dealing with one ledger payment (none for a repeat).
        `requested`: a bookkeeper asked for this payment, so it is recorded even with the
        tenant's ReverseSync off or before its start date; every other rule still applies."""
        payment = seen.payment
        start = settings.sync.reverse_sync_start_date
        if not requested and (
            not settings.sync.reverse_sync_enabled or start is None or payment.payment_date < start
        ):
            return []
        if seen.from_keap or self._came_from_keap(tenant_id, payment):
            return []
        if seen.kind is LedgerPaymentKind.DELETED:
            self._unresolved.release_deleted(
                tenant_id, payment.destination.value, payment.payment_id
            )
            return self._deleted(tenant_id, payment)
        if seen.kind is LedgerPaymentKind.REFUND:
            return self._refund(tenant_id, payment)
        return self._payment(tenant_id, payment, settings)

    # -- payments --------------------------------------------------------------------------

    def _payment(
        self, tenant_id: str, payment: DestinationPayment, settings: TenantSettings
    ) -> list[Outgoing]:
        destination = payment.destination.value
        if self._handled.handled(tenant_id, destination, payment.payment_id, payment.invoice_id):
            self._unresolved.release(tenant_id, payment)
            return []
        keap_invoice_id = self._id_map.keap_id_for(
            tenant_id, destination, INVOICE, payment.invoice_id
        )
        if keap_invoice_id is None:
            found = self._lookup.restore_mapping(
                tenant_id, payment.destination, payment.invoice_id, settings
            )
            if found.outcome is LookupOutcome.UNRESOLVED:
                return self._keep_for_later(tenant_id, payment, found.reason)
            if found.outcome is LookupOutcome.NOT_OURS:
                self._mark(tenant_id, payment)  # an invoice InvoiceSync did not create
                self._unresolved.release(tenant_id, payment)
                return []
            keap_invoice_id = found.keap_invoice_id
        lock_name = f"{tenant_id}:{destination}:{payment.payment_id}:{payment.invoice_id}"
        with tenant_lock(
            self._redis, "reverse-sync-payment", lock_name, LOCK_TTL_SECONDS, LOCK_WAIT_SECONDS
        ):
            if self._handled.handled(
                tenant_id, destination, payment.payment_id, payment.invoice_id
            ):
                return []
            results = self._write_once(tenant_id, payment, keap_invoice_id, settings)
        self._unresolved.release(tenant_id, payment)
        return results

    def _keep_for_later(
        self, tenant_id: str, payment: DestinationPayment, why: str
    ) -> list[Outgoing]:
        """Reported once (activity log, notification); retried at every poll after that."""
        if not self._unresolved.keep(tenant_id, payment):
            return []
        log.warning(
            "ledger payment kept: its Keap invoice was not found",
            extra={
                "tenant_id": tenant_id,
                "destination": payment.destination.value,
                "payment_id": payment.payment_id,
                "error": why,
            },
        )
        reason = (
            f"exception: {payment.destination.value} payment {payment.payment_id} of "
            f"{payment.amount} is on invoice {payment.invoice_id}, which InvoiceSync wrote, but "
            f"its Keap invoice could not be read ({why}); it is tried again at every poll"
        )
        return [self._result(tenant_id, payment, "", SyncAction.FAILED, reason)]

    def _write_once(
        self,
        tenant_id: str,
        payment: DestinationPayment,
        keap_invoice_id: str,
        settings: TenantSettings,
    ) -> list[Outgoing]:
        order = self._keap.find_order_by_invoice(tenant_id, keap_invoice_id)
        listed = self._keap.list_order_payments(tenant_id, order.id) if order else []
        decision = keap_recording_decision(payment, keap_invoice_id, order, listed, settings.keap)
        order_id = order.id if order else ""
        results: list[Outgoing] = []
        if decision.action is KeapRecordingAction.ALREADY_RECORDED:
            reason = f"already recorded in Keap as payment {decision.keap_payment_id}"
            skipped = self._result(
                tenant_id,
                payment,
                order_id,
                SyncAction.SKIPPED,
                reason,
                code=SkipReason.ALREADY_IN_KEAP,
            )
            results.append(skipped)
        elif decision.payment is not None:
            try:
                results.append(self._record(tenant_id, payment, order_id, decision.payment))
            except ProviderRejected as exc:
                # Most often a payment type the Keap app does not have: a setting to fix.
                reason = (
                    f"exception: Keap refused the {payment.destination.value} payment "
                    f"{payment.payment_id} (payment type {decision.payment.payment_method_type!r})"
                    f": {exc}"
                )
                return [self._result(tenant_id, payment, order_id, SyncAction.FAILED, reason)]
        if decision.exception:
            reason = f"exception: {decision.exception}"
            results.append(self._result(tenant_id, payment, order_id, SyncAction.FAILED, reason))
        self._mark(tenant_id, payment)
        log.info(
            "ledger payment handled",
            extra={
                "tenant_id": tenant_id,
                "destination": payment.destination.value,
                "payment_id": payment.payment_id,
                "order_id": order_id,
                "decision": decision.action.value,
            },
        )
        return results

    def _record(
        self,
        tenant_id: str,
        payment: DestinationPayment,
        order_id: str,
        manual: KeapManualPayment,
    ) -> Outgoing:
        recorded = self._keap.create_manual_payment(
            tenant_id,
            order_id,
            manual.payment_amount,
            manual.payment_time,
            manual.payment_method_type,
            manual.notes,
        )
        destination = payment.destination.value
        self._handled.mark_recorded(tenant_id, destination, payment.payment_id, order_id)
        reason = (
            f"{destination} payment {payment.payment_id} of {manual.payment_amount} recorded "
            f"as Keap payment {recorded.payment_id}"
        )
        return self._result(tenant_id, payment, order_id, SyncAction.CREATED, reason)

    def _mark(self, tenant_id: str, payment: DestinationPayment) -> None:
        self._handled.mark_handled(
            tenant_id, payment.destination.value, payment.payment_id, payment.invoice_id
        )

    # -- what Keap cannot take -------------------------------------------------------------

    def _refund(self, tenant_id: str, payment: DestinationPayment) -> list[Outgoing]:
        destination = payment.destination.value
        if self._handled.handled(tenant_id, destination, payment.payment_id, REFUND):
            return []
        self._handled.mark_handled(tenant_id, destination, payment.payment_id, REFUND)
        reason = (
            f"exception: a refund of {payment.amount} was recorded in {destination} "
            f"({payment.payment_id}); Keap has no refund API, record it in Keap by hand"
        )
        return [self._result(tenant_id, payment, "", SyncAction.FAILED, reason)]

    def _deleted(self, tenant_id: str, payment: DestinationPayment) -> list[Outgoing]:
        destination = payment.destination.value
        orders = self._handled.recorded_orders(tenant_id, destination, payment.payment_id)
        if not orders or self._handled.handled(
            tenant_id, destination, payment.payment_id, DELETION
        ):
            return []
        self._handled.mark_handled(tenant_id, destination, payment.payment_id, DELETION)
        reason = (
            f"exception: {destination} payment {payment.payment_id} was deleted after it was "
            f"recorded in Keap; Keap cannot reverse a payment, remove it in Keap by hand"
        )
        return [self._result(tenant_id, payment, ",".join(orders), SyncAction.FAILED, reason)]

    # -- plumbing --------------------------------------------------------------------------

    def _came_from_keap(self, tenant_id: str, payment: DestinationPayment) -> bool:
        """The writers map each Keap payment they copied: its ledger id must not come back."""
        destination = payment.destination.value
        return (
            self._id_map.keap_id_for(tenant_id, destination, PAYMENT, payment.payment_id)
            is not None
        )

    def _result(
        self,
        tenant_id: str,
        payment: DestinationPayment,
        order_id: str,
        action: SyncAction,
        reason: str,
        *,
        code: str = "",
    ) -> Outgoing:
        return sync_result(
            tenant_id,
            payment.destination.value,
            RESULT_OBJECT_TYPE,
            order_id,
            action,
            self._clock,
            reason=reason,
            destination_id=payment.payment_id,
            reason_code=code,
        )
