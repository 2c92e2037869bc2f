"""What a developer does once in Xero's developer portal and Intuit's developer dashboard, done
against the stand-ins: make the webhook secrets, and point each ledger's webhooks at
reverse-sync-webhooks.

    python -m invoicesync_sandbox.developer_portal secrets    env lines with new secrets
    python -m invoicesync_sandbox.developer_portal register   subscribe both stand-ins

`register` reads the same environment as the services (`INVOICESYNC_XERO_API_BASE`,
`INVOICESYNC_QBO_API_BASE`, `INVOICESYNC_WEBHOOKS_BASE_URL`, `INVOICESYNC_XERO_WEBHOOK_KEY`,
`INVOICESYNC_QBO_WEBHOOK_VERIFIER_TOKEN`) and exits 1 unless Xero's intent-to-receive check
passes, as the portal would show the webhook "not verified".
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import dataclass

import requests

XERO_KEY_VARIABLE = "INVOICESYNC_XERO_WEBHOOK_KEY"
QBO_VERIFIER_VARIABLE = "INVOICESYNC_QBO_WEBHOOK_VERIFIER_TOKEN"
INTENT_TO_RECEIVE_SECONDS = 30.0


@dataclass(frozen=True)
class LedgerWebhookTargets:
    xero_url: str  # the Xero stand-in's root
    qbo_url: str  # the QBO stand-in's root
    webhooks_base_url: str  # where reverse-sync-webhooks listens
    xero_key: str
    qbo_verifier_token: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LedgerWebhookTargets:
        env = dict(os.environ if env is None else env)
        return cls(
            env["INVOICESYNC_XERO_API_BASE"].rstrip("/"),
            env["INVOICESYNC_QBO_API_BASE"].rstrip("/"),
            env["INVOICESYNC_WEBHOOKS_BASE_URL"].rstrip("/"),
            env[XERO_KEY_VARIABLE],
            env[QBO_VERIFIER_VARIABLE],
        )


@dataclass(frozen=True)
class Registration:
    xero_verified: bool
    xero: dict
    qbo: dict


def new_webhook_secrets() -> dict[str, str]:
    """A Xero webhook key and an Intuit verifier token, as the portals issue one per app."""
    return {
        XERO_KEY_VARIABLE: secrets.token_urlsafe(64),
        QBO_VERIFIER_VARIABLE: secrets.token_urlsafe(32),
    }


def register_ledger_webhooks(
    targets: LedgerWebhookTargets,
    *,
    xero_invoice_events_on_payment: bool = False,
    qbo_format: str = "cloudevents",
    wait_seconds: float = INTENT_TO_RECEIVE_SECONDS,
) -> Registration:
    """Subscribe `/webhooks/xero` and `/webhooks/qbo`, then wait out Xero's intent to receive.

    `xero_invoice_events_on_payment` turns on the stand-in's INVOICE UPDATE on a payment, which
    Xero does not document (xero.md §8, §11): off, Xero payments arrive by the poll only."""
    xero_body = {
        "url": f"{targets.webhooks_base_url}/webhooks/xero",
        "key": targets.xero_key,
        "invoice_events_on_payment": xero_invoice_events_on_payment,
    }
    _call("PUT", f"{targets.xero_url}/_sandbox/xero/webhooks", xero_body)
    qbo_body = {
        "url": f"{targets.webhooks_base_url}/webhooks/qbo",
        "verifier_token": targets.qbo_verifier_token,
        "format": qbo_format,
    }
    qbo = _call("PUT", f"{targets.qbo_url}/_sandbox/qbo/webhooks", qbo_body)
    xero = _intent_to_receive(targets.xero_url, wait_seconds)
    return Registration(bool(xero.get("active")), xero, qbo)


def unregister_ledger_webhooks(targets: LedgerWebhookTargets) -> None:
    """Delete both subscriptions, as a developer removing the webhook in each portal."""
    _call("DELETE", f"{targets.xero_url}/_sandbox/xero/webhooks")
    _call("PUT", f"{targets.qbo_url}/_sandbox/qbo/webhooks", {"url": ""})


def _intent_to_receive(xero_url: str, wait_seconds: float) -> dict:
    """The subscription once Xero has judged both of its checks (or when time runs out)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        state = _call("GET", f"{xero_url}/_sandbox/xero/webhooks")
        if state.get("intent_checks", 0) >= 2 or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def _call(method: str, url: str, body: dict | None = None) -> dict:
    response = requests.request(method, url, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invoicesync_sandbox.developer_portal")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("secrets", help="print new webhook secrets as env lines")
    register = commands.add_parser("register", help="subscribe both stand-ins' webhooks")
    register.add_argument(
        "--xero-invoice-events-on-payment",
        action="store_true",
        help="have the Xero stand-in announce payments with an INVOICE UPDATE (undocumented)",
    )
    args = parser.parse_args(argv)
    if args.command == "secrets":
        for name, value in new_webhook_secrets().items():
            print(f"{name}={value}")
        return 0
    targets = LedgerWebhookTargets.from_env()
    done = register_ledger_webhooks(
        targets, xero_invoice_events_on_payment=args.xero_invoice_events_on_payment
    )
    print(f"  Xero webhook -> {done.xero.get('url')}: " + _verdict(done))
    print(f"  QBO webhook  -> {done.qbo.get('url')} ({done.qbo.get('format')})")
    return 0 if done.xero_verified else 1


def _verdict(done: Registration) -> str:
    if done.xero_verified:
        return "verified (intent to receive passed)"
    failures = done.xero.get("intent_failures", 0)
    return (
        f"NOT verified ({failures} of {done.xero.get('intent_checks', 0)} intent-to-receive "
        "checks failed: is reverse-sync-webhooks up with the same INVOICESYNC_XERO_WEBHOOK_KEY?)"
    )


if __name__ == "__main__":
    sys.exit(main())
