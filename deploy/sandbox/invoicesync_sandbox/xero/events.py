"""Outgoing Xero webhooks: signed event batches and the intent-to-receive check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from typing import TYPE_CHECKING

from invoicesync_sandbox.core.webhooks import DeliveryOutcome

if TYPE_CHECKING:
    from invoicesync_sandbox.xero.state import WebhookSubscription, XeroState


def signature(key: str, body: bytes) -> str:
    """`x-xero-signature`: base64 of HMAC-SHA256 over the exact body bytes."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _payload(events: list[dict], first_sequence: int) -> bytes:
    body = {
        "events": events,
        "firstEventSequence": first_sequence,
        "lastEventSequence": first_sequence + max(len(events) - 1, 0),
        "entropy": secrets.token_hex(10).upper(),
    }
    return json.dumps(body, separators=(",", ":")).encode()


def start_intent_to_receive(state: XeroState, subscription: WebhookSubscription) -> None:
    """Send one correctly and one wrongly signed empty batch; active only if both are judged."""
    expected = {True: 200, False: 401}

    def judge(correct: bool):
        def record(outcome: DeliveryOutcome) -> None:
            subscription.intent_checks += 1
            # 200 with an empty body for a correct signature, 401 with an empty body for a
            # wrong one (developer.xero.com/documentation/webhooks/configuring-your-server;
            # shared/reference/xero.md §8 "Endpoint requirements").
            if outcome.last_status != expected[correct] or outcome.last_body_size:
                subscription.intent_failures += 1
            if subscription.intent_checks == 2:
                subscription.active = subscription.intent_failures == 0

        return record

    for correct in (True, False):
        body = _payload([], 0)
        key = subscription.key if correct else secrets.token_urlsafe(32)
        state.webhooks.deliver(
            subscription.url,
            body,
            {"Content-Type": "application/json", "x-xero-signature": signature(key, body)},
            retries=0,
            on_complete=judge(correct),
        )


def publish(
    state: XeroState, tenant_id: str, category: str, event_type: str, resource_id: str
) -> None:
    """Queue one INVOICE/CONTACT/CREDITNOTE event if a subscription has passed intent to receive."""
    subscription = state.webhook
    if subscription is None or not subscription.active:
        return
    collection = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}[
        category
    ]
    event = {
        "resourceUrl": f"{state.public_url}/api.xro/2.0/{collection}/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": state.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "eventType": event_type,
        "eventCategory": category,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }
    state.event_batches.add(event)


class EventBatches:
    """Events gathered over the webhook delay and sent as one payload. At Xero one payload's
    `events` may hold several, of different categories and organisations (the payload's
    `events` array with first/last sequence numbers, xero.md §8 "Payload"; receivers meet
    mixed batches, github.com/hotmeteor/receiver/issues/13), so a receiver that reads only
    `events[0]` loses the rest here as it would there."""

    def __init__(self, state: XeroState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._events: list[dict] = []
        self._scheduled = False
        self._next_sequence = 1

    def add(self, event: dict) -> None:
        with self._lock:
            self._events.append(event)
            if self._scheduled:
                return
            self._scheduled = True
        self._state.webhooks.later(self.send_pending, self._state.faults.webhook_delay_seconds)

    def send_pending(self) -> None:
        """Sign and hand the gathered events to the dispatcher as one payload, now."""
        with self._lock:
            events, self._events = self._events, []
            self._scheduled = False
            first_sequence = self._next_sequence
            self._next_sequence += len(events)
        subscription = self._state.webhook
        if not events or subscription is None or not subscription.active:
            return
        body = _payload(events, first_sequence)
        headers = {
            "Content-Type": "application/json",
            "x-xero-signature": signature(subscription.key, body),
        }
        self._state.webhooks.deliver(subscription.url, body, headers, delay_seconds=0)

    def reset(self) -> None:
        with self._lock:
            self._events.clear()
