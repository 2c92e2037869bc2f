"""REST hook side of the Keap sandbox: the X-Hook-Secret handshake and batched event deliveries."""

from __future__ import annotations

import json
import secrets
import threading
from typing import TYPE_CHECKING

import requests

from invoicesync_sandbox.core.webhooks import DeliveryOutcome
from invoicesync_sandbox.keap.store import Hook, KeapStore

if TYPE_CHECKING:
    from invoicesync_sandbox.keap.state import KeapState

MAX_OBJECT_KEYS = 1000
EVENT_KEYS = (
    "contact.add",
    "contact.delete",
    "contact.edit",
    "invoice.add",
    "invoice.delete",
    "invoice.edit",
    "invoice.payment.add",
    "invoice.payment.delete",
    "invoice.payment.edit",
    "order.add",
    "order.delete",
    "order.edit",
    "product.add",
    "product.delete",
    "product.edit",
    "subscription.add",
    "subscription.delete",
    "subscription.edit",
)
RETRIES_AFTER_FIRST_ATTEMPT = 3
DEACTIVATING_STATUS = 410


def handshake(hook: Hook, timeout_seconds: float) -> None:
    """POST a fresh X-Hook-Secret to the hook URL; Verified only if it is echoed with a 200."""
    secret = secrets.token_hex(32)
    hook.secret = secret
    try:
        response = requests.post(
            hook.hook_url, headers={"X-Hook-Secret": secret}, timeout=timeout_seconds
        )
        echoed = response.status_code == 200 and response.headers.get("X-Hook-Secret") == secret
    except requests.RequestException:
        echoed = False
    hook.status = "Verified" if echoed else "Unverified"


def event_timestamp(state: KeapState) -> str:
    now = state.clock.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class HookBatcher:
    """Collects changed ids per verified hook of one account and sends them in batches of up
    to 1,000."""

    def __init__(self, state: KeapState, store: KeapStore) -> None:
        self.state = state
        self.store = store
        self._lock = threading.Lock()
        self._pending: dict[str, list[dict]] = {}
        self._timer: threading.Timer | None = None

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def record(self, event_key: str, object_id: int) -> None:
        """Note one change; verified subscribers of `event_key` hear of it after the delay."""
        object_key = {"apiUrl": "", "id": object_id, "timestamp": event_timestamp(self.state)}
        hooks = [
            hook
            for hook in self.store.hooks.values()
            if hook.event_key == event_key and hook.status == "Verified"
        ]
        if not hooks:
            return
        with self._lock:
            for hook in hooks:
                self._pending.setdefault(hook.key, []).append(object_key)
            if self._timer is None:
                self._timer = threading.Timer(self.state.faults.webhook_delay_seconds, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Hand every pending batch to the dispatcher now."""
        with self._lock:
            pending, self._pending = self._pending, {}
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        for hook_key, object_keys in pending.items():
            hook = self.store.hooks.get(hook_key)
            if hook is None or hook.status != "Verified":
                continue
            for start in range(0, len(object_keys), MAX_OBJECT_KEYS):
                self._send(hook, object_keys[start : start + MAX_OBJECT_KEYS])

    def _send(self, hook: Hook, object_keys: list[dict]) -> None:
        body = {
            "event_key": hook.event_key,
            "object_type": hook.event_key.split(".")[0],
            "object_keys": object_keys,
        }
        self.state.webhooks.deliver(
            hook.hook_url,
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
            retries=RETRIES_AFTER_FIRST_ATTEMPT,
            on_complete=lambda outcome: self._settle(hook, outcome),
            stop_statuses=frozenset({DEACTIVATING_STATUS}),
            delay_seconds=0,
        )

    @staticmethod
    def _settle(hook: Hook, outcome: DeliveryOutcome) -> None:
        # Keap deactivates a hook whose receiver is slow, answers 410, or fails every attempt
        # (reference/keap.md §2.6: four attempts, then Inactive until re-verified).
        if outcome.dropped:
            return
        if outcome.slow or not outcome.delivered:
            hook.status = "Inactive"
