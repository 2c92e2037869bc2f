"""Keap change notifications → canonical invoice and payment events, with the tenant's rules.

Every notification is only a hint: the order and its payments are re-read from Keap, mapped by
the pure domain functions, and published. A hook or a poll publishes only content that differs
from what was published last (Keap repeats itself); a request someone made (Sync ID, backfill,
replay, retry) always publishes, so an unchanged invoice that failed downstream is driven again.
The writers' id map makes a re-published, already-synced invoice a no-op there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from invoicesync.clients.keap import KeapClient, KeapNotFound
from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    PaymentKind,
    SkipDecision,
)
from invoicesync.domain.keap_amount_checks import (
    KeapAmountMismatch,
    check_payments_cover_total_paid,
)
from invoicesync.domain.keap_order import KeapOrder, KeapPayment
from invoicesync.domain.keap_to_canonical import (
    KeapOrderMismatch,
    canonical_invoice_from_keap_order,
    canonical_payments_from_keap,
)
from invoicesync.domain.sync_rules import (
    SkipReason,
    invoice_skip_decision,
    is_held,
    payment_skip_decision,
)
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import InvalidInput
from invoicesync.events import (
    Envelope,
    EventType,
    KeapNotification,
    NotificationSource,
    SyncAction,
    SyncResult,
    Topic,
    envelope_for,
    payload_of,
)
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.held_notifications import HeldNotifications, held_key
from transform.invoice_orders import InvoiceOrders
from transform.publication_marks import PublicationMarks, hash_key

log = logging.getLogger(__name__)

NOT_FOUND_REASON = "not found in Keap"
_EVENT_TYPES = {
    "invoice": EventType.INVOICE_CANONICALISED,
    "payment": EventType.PAYMENT_CANONICALISED,
}
# Sources that repeat themselves: only what they report as changed is published again.
DEDUPLICATED_SOURCES = frozenset({NotificationSource.HOOK, NotificationSource.POLL})


class TenantSettingsSource(Protocol):
    def settings(self, tenant_id: str) -> TenantSettings:
        """The tenant's settings; `UnknownTenant` (dead-lettered) for one we do not have."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Run:
    """One notification's tenant, its settings and the events it has produced so far."""

    tenant_id: str
    settings: TenantSettings
    outgoing: list[Outgoing]
    deduplicate: bool = True  # False: publish even what was published before


class TransformHandler:
    def __init__(
        self,
        keap: KeapClient,
        tenants: TenantSettingsSource,
        marks: PublicationMarks,
        held: HeldNotifications,
        clock: Callable[[], datetime] = _utc_now,
        *,
        invoice_orders: InvoiceOrders | None = None,
    ) -> None:
        self._keap = keap
        self._tenants = tenants
        self._marks = marks
        self._held = held
        self._clock = clock
        # What the run being handled has read and claimed (reset by each `handle`).
        self._settings_this_run: dict[str, TenantSettings] = {}
        self._marks_this_run: dict[str, str] = {}
        self._released_this_run: set[str] = set()
        # Orders read in this run: every notification of the run was in Kafka before the run
        # began, so a read made during it is at least as new as any change they report.
        self._orders_this_run: dict[tuple[str, str], KeapOrder] = {}
        self._invoice_orders = invoice_orders or InvoiceOrders()
        self._transformed_this_run: set[tuple[str, str]] = set()

    def handle(self, envelopes: Sequence[Envelope]) -> list[Outgoing]:
        """A run of notifications: each tenant's settings are read once, a held tenant's
        notifications are kept in one round trip, and what an earlier notification of the run
        publishes counts as published for the later ones (the loop publishes the run's events
        together, or none of them)."""
        self._marks_this_run.clear()
        self._released_this_run.clear()
        self._settings_this_run.clear()
        self._orders_this_run.clear()
        self._transformed_this_run.clear()
        self._read_orders_of_run(envelopes)
        outgoing: list[Outgoing] = []
        held: list[tuple[Envelope, KeapNotification]] = []
        for envelope in envelopes:
            if envelope.type is not EventType.KEAP_CHANGE_NOTIFIED:
                continue
            if is_held(self._settings_for(envelope.tenant_id)):
                held.append((envelope, payload_of(envelope)))
                continue
            outgoing.extend(self._hold_all(held))
            held = []
            outgoing.extend(self._handle_one(envelope))
        outgoing.extend(self._hold_all(held))
        return outgoing

    def _handle_one(self, envelope: Envelope) -> list[Outgoing]:
        notification: KeapNotification = payload_of(envelope)
        tenant_id = envelope.tenant_id
        settings = self._settings_for(tenant_id)
        run = _Run(
            tenant_id,
            settings,
            self._released_holds(tenant_id),
            deduplicate=notification.source in DEDUPLICATED_SOURCES,
        )
        try:
            orders = self._orders_for(tenant_id, notification)
        except KeapNotFound:
            orders = []
        if (
            run.deduplicate
            and orders
            and all((tenant_id, order.id) in self._transformed_this_run for order in orders)
        ):
            return run.outgoing  # an earlier notification of the run did it, from the same read
        if not orders:
            self._result(
                run,
                notification.object_type,
                notification.object_id,
                NOT_FOUND_REASON,
                code=SkipReason.NOT_FOUND_IN_KEAP,
            )
            return run.outgoing
        for order in orders:
            self._transform_order(run, order)
        return run.outgoing

    # -- held ------------------------------------------------------------------------------

    def _settings_for(self, tenant_id: str) -> TenantSettings:
        if tenant_id not in self._settings_this_run:
            self._settings_this_run[tenant_id] = self._tenants.settings(tenant_id)
        return self._settings_this_run[tenant_id]

    def _hold_all(self, held: list[tuple[Envelope, KeapNotification]]) -> list[Outgoing]:
        if not held:
            return []
        outgoing = []
        for (envelope, notification), new in zip(held, self._held.hold_all(held), strict=True):
            if not new:
                continue  # already held: one activity entry per held object is enough
            result = SyncResult(
                destination=self._settings_for(envelope.tenant_id).destination.value,
                object_type=notification.object_type,
                keap_id=notification.object_id,
                action=SyncAction.HELD,
                recorded_at=self._clock(),
                reason="processing is off",
            )
            outgoing.append(
                Outgoing(
                    Topic.SYNC_RESULTS,
                    envelope_for(EventType.SYNC_RESULT_RECORDED, envelope.tenant_id, result),
                )
            )
        return outgoing

    def _released_holds(self, tenant_id: str) -> list[Outgoing]:
        """Processing is on: anything held earlier goes back to the notifications topic
        (once per run: the run's first notification releases them)."""
        if tenant_id in self._released_this_run:
            return []
        self._released_this_run.add(tenant_id)
        released = []
        for item in self._held.held(tenant_id):
            event = item.released()
            self._marks.delete_field_after(
                event.envelope, held_key(tenant_id), item.field, item.raw
            )
            released.append(event)
        return released

    # -- reading Keap ----------------------------------------------------------------------

    def _read_orders_of_run(self, envelopes: Sequence[Envelope]) -> None:
        """The run's order notifications read in one call per tenant, not one call each."""
        order_ids: dict[str, list[str]] = {}
        for envelope in envelopes:
            if envelope.type is not EventType.KEAP_CHANGE_NOTIFIED:
                continue
            notification: KeapNotification = payload_of(envelope)
            order_id = self._known_order_id(envelope.tenant_id, notification)
            if order_id is not None:
                order_ids.setdefault(envelope.tenant_id, []).append(order_id)
        for tenant_id, ids in order_ids.items():
            if len(set(ids)) < 2 or is_held(self._settings_for(tenant_id)):
                continue  # one order is one call either way
            for order in self._keap.get_orders(tenant_id, ids).values():
                self._remember(tenant_id, order)

    def _known_order_id(self, tenant_id: str, notification: KeapNotification) -> str | None:
        if notification.object_type == "order":
            return notification.object_id
        if notification.object_type == "invoice":
            return self._invoice_orders.order_id(tenant_id, notification.object_id)
        return None

    def _orders_for(self, tenant_id: str, notification: KeapNotification) -> list[KeapOrder]:
        object_id = notification.object_id
        if notification.object_type == "order":
            return [self._order(tenant_id, object_id)]
        if notification.object_type == "invoice":
            order_id = self._invoice_orders.order_id(tenant_id, object_id)
            if order_id is not None:
                return [self._order(tenant_id, order_id)]
            order = self._keap.find_order_by_invoice(tenant_id, object_id)
            if order is None:
                return []
            self._remember(tenant_id, order)
            return [order]
        order_ids = self._keap.find_order_ids_for_payment(tenant_id, object_id)
        return [self._order(tenant_id, order_id) for order_id in order_ids]

    def _order(self, tenant_id: str, order_id: str) -> KeapOrder:
        order = self._orders_this_run.get((tenant_id, order_id))
        if order is None:
            order = self._keap.get_order(tenant_id, order_id)
            self._remember(tenant_id, order)
        return order

    def _remember(self, tenant_id: str, order: KeapOrder) -> None:
        self._orders_this_run[(tenant_id, order.id)] = order
        self._invoice_orders.learn(tenant_id, order)

    # -- mapping ---------------------------------------------------------------------------

    def _transform_order(self, run: _Run, order: KeapOrder) -> None:
        self._transformed_this_run.add((run.tenant_id, order.id))
        # An order with nothing paid or refunded has no payment that moved money: its rows are
        # not read (a call saved on most new orders; Keap's calls are the app's scarcest).
        moved_money = order.total_paid != 0 or order.is_refunded
        payments = self._keap.list_order_payments(run.tenant_id, order.id) if moved_money else []
        try:
            # Payment rows are major units by the spec's types, but its own example reads like
            # cents: rows that do not add up to the order's total_paid are never posted.
            check_payments_cover_total_paid(order.id, order.total_paid, payments)
        except KeapAmountMismatch as exc:
            raise InvalidInput(f"Keap's money units disagree: {exc}") from exc
        try:
            invoice = canonical_invoice_from_keap_order(
                order, run.settings, run.tenant_id, payments
            )
        except KeapOrderMismatch as exc:
            raise InvalidInput(str(exc)) from exc
        skip = invoice_skip_decision(order, invoice, run.settings)
        if skip is not None:
            self._skipped(run, "invoice", invoice.keap_invoice_id, skip, invoice.invoice_number)
            return
        self._publish_if_changed(run, "invoice", invoice.keap_invoice_id, invoice)
        self._transform_payments(run, order, invoice, payments)

    def _transform_payments(
        self, run: _Run, order: KeapOrder, invoice: CanonicalInvoice, payments: list[KeapPayment]
    ) -> None:
        by_id = {payment.id: payment for payment in payments}
        paid_before = Decimal(0)
        for payment in canonical_payments_from_keap(order, payments, run.settings, run.tenant_id):
            skip = payment_skip_decision(
                by_id[payment.keap_payment_id],
                payment,
                invoice.totals.total,
                paid_before,
                run.settings,
            )
            if skip is not None:
                self._skipped(run, "payment", payment.keap_payment_id, skip, invoice.invoice_number)
                continue
            signed = payment.amount if payment.kind is PaymentKind.PAYMENT else -payment.amount
            paid_before += signed
            self._publish_if_changed(run, "payment", payment.keap_payment_id, payment)

    # -- events ----------------------------------------------------------------------------

    def _publish_if_changed(
        self, run: _Run, kind: str, keap_id: str, payload: CanonicalInvoice | CanonicalPayment
    ) -> None:
        content_hash = payload.content_hash
        if run.deduplicate and self._last_published(run.tenant_id, kind, keap_id) == (content_hash):
            return
        event_type = _EVENT_TYPES[kind]
        envelope = envelope_for(event_type, run.tenant_id, payload)
        self._mark_after(envelope, hash_key(run.tenant_id, kind, keap_id), content_hash)
        run.outgoing.append(Outgoing(Topic.CANONICAL_EVENTS, envelope))

    def _skipped(
        self, run: _Run, kind: str, keap_id: str, skip: SkipDecision, number: str | None
    ) -> None:
        reason = skip.summary
        marker = f"skipped:{reason}"
        if run.deduplicate and self._last_published(run.tenant_id, kind, keap_id) == marker:
            return  # the same skip was reported already
        envelope = self._result(run, kind, keap_id, reason, number, code=skip.reason)
        self._mark_after(envelope, hash_key(run.tenant_id, kind, keap_id), marker)

    def _last_published(self, tenant_id: str, kind: str, keap_id: str) -> str | None:
        key = hash_key(tenant_id, kind, keap_id)
        if key in self._marks_this_run:
            return self._marks_this_run[key]
        return self._marks.last_published(tenant_id, kind, keap_id)

    def _mark_after(self, envelope: Envelope, key: str, value: str) -> None:
        self._marks.set_after(envelope, key, value)
        self._marks_this_run[key] = value

    def _result(
        self,
        run: _Run,
        kind: str,
        keap_id: str,
        reason: str,
        number: str | None = None,
        *,
        code: str,
    ) -> Envelope:
        result = SyncResult(
            destination=run.settings.destination.value,
            object_type=kind,
            keap_id=keap_id,
            action=SyncAction.SKIPPED,
            recorded_at=self._clock(),
            reason=reason,
            invoice_number=number,
            reason_code=code,
        )
        envelope = envelope_for(EventType.SYNC_RESULT_RECORDED, run.tenant_id, result)
        run.outgoing.append(Outgoing(Topic.SYNC_RESULTS, envelope))
        log.info(
            "skipped",
            extra={"tenant_id": run.tenant_id, "object": kind, "keap_id": keap_id, "why": reason},
        )
        return envelope
