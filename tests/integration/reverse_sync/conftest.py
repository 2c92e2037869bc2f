"""Keap, Xero and QBO stand-ins on free ports, the webhook app served, the worker running on the
real broker, and tenants connected to them with ReverseSync switched on."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.domain.canonical import Contact, Destination
from invoicesync.domain.keap_order import KeapPayment
from invoicesync.domain.sync_rules import is_reverse_sync_note
from invoicesync.domain.tenant_settings import SyncSettings, TenantSettings
from invoicesync.events import Topic
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import group_name, topic_name
from invoicesync.stores.id_map import IdMap, MappedId
from invoicesync.stores.locks import lock_key
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import ProviderConnection, TokenStore
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from reverse_sync.connection_refresher import REFRESHER_LOCK
from reverse_sync.main import GROUP_ID, ReverseSyncService, build_service
from reverse_sync.poller import POLLER_LOCK
from reverse_sync.webhook_app import create_app as create_webhook_app
from tests.integration.qbo_writer.qbo_sandbox import qbo_sandbox
from tests.integration.stores.local_servers import serving
from tests.integration.transform.keap_stand_in import KeapStandIn, keap_stand_in
from tests.waiting import end_offsets, eventually, finished_with_everything_published

XERO_KEY = "xero-webhook-key-for-tests"
QBO_VERIFIER = "qbo-verifier-token-for-tests"
START = date(2026, 1, 1)


@dataclass
class ConnectedTenant:
    tenant_id: str
    destination: Destination
    external_id: str


@dataclass
class ReverseStack:
    settings: object
    keap: KeapStandIn
    xero_url: str
    qbo_url: str
    webhooks_url: str
    service: ReverseSyncService
    publisher: Publisher

    @property
    def redis(self):
        return self.keap.redis

    # -- tenants ---------------------------------------------------------------------------

    def tenant(self, destination: Destination, *, enabled: bool = True) -> ConnectedTenant:
        tenants = TenantStore(self.redis)
        tenant = tenants.create(f"Books {uuid.uuid4().hex[:6]}", destination)
        self.keap.connect(tenant.id)
        if destination is Destination.XERO:
            issued = self._token(self.xero_url, {"client_id": DEMO_CLIENT_ID})
            external_id = issued["tenant_id"]
        else:
            issued = self._token(self.qbo_url, {"company_name": f"Books of {tenant.id}"})
            external_id = issued["realmId"]
        TokenStore(self.redis, TokenCipher(self.settings.token_encryption_key)).save(
            ProviderConnection(
                provider=destination.value,
                tenant_id=tenant.id,
                access_token=issued["access_token"],
                refresh_token=issued["refresh_token"],
                access_expires_at=datetime.now(UTC) + timedelta(seconds=issued["expires_in"]),
                refresh_expires_at=None,
                external_id=external_id,
            )
        )
        sync = SyncSettings(
            processing_enabled=True, reverse_sync_enabled=enabled, reverse_sync_start_date=START
        )
        tenants.save_settings(tenant.id, TenantSettings(destination, sync=sync))
        return ConnectedTenant(tenant.id, destination, external_id)

    @staticmethod
    def _token(base_url: str, body: dict) -> dict:
        return requests.post(f"{base_url}/_sandbox/token", json=body, timeout=5).json()

    # -- what the forward sync would have done ---------------------------------------------

    def synced_invoice(self, tenant: ConnectedTenant, total: int = 100) -> tuple[dict, str]:
        """A Keap order and its invoice created in the ledger, mapped as the writer maps it."""
        order = self.keap.order(
            [{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": total}]
        )
        if tenant.destination is Destination.XERO:
            ledger_id = self._xero_invoice(tenant, order, total)
        else:
            ledger_id = self._qbo_invoice(tenant, order, total)
        self.id_map().put(
            tenant.tenant_id,
            tenant.destination.value,
            "invoice",
            str(order["invoice_id"]),
            MappedId(ledger_id, "content-hash", "AUTHORISED"),
        )
        return order, ledger_id

    def _xero_invoice(self, tenant: ConnectedTenant, order: dict, total: int) -> str:
        return self.xero_invoice_with_reference(tenant, f"Keap order {order['id']}", total)

    def xero_invoice_with_reference(
        self, tenant: ConnectedTenant, reference: str, total: int
    ) -> str:
        """An approved Xero invoice; our writers' Reference marks the ones InvoiceSync wrote."""
        element = {
            "Type": "ACCREC",
            "Contact": {"Name": f"Ann Lee {reference}"},
            "Date": "2026-03-02",
            "DueDate": "2026-04-01",
            "Status": "AUTHORISED",
            "LineAmountTypes": "Exclusive",
            "Reference": reference,
            "LineItems": [
                {
                    "Description": "Fee",
                    "Quantity": 1,
                    "UnitAmount": total,
                    "AccountCode": "200",
                    "TaxType": "NONE",
                }
            ],
        }
        [result] = self.xero_client().create_invoices(tenant.tenant_id, [element], uuid.uuid4().hex)
        assert result.ok, result.messages
        return result.element["InvoiceID"]

    def _qbo_invoice(self, tenant: ConnectedTenant, order: dict, total: int) -> str:
        client = self.qbo_client()
        customer = client.customer_for(
            tenant.tenant_id, Contact(keap_id=uuid.uuid4().hex[:6], name="Ann Lee")
        )
        body = {
            "CustomerRef": {"value": customer},
            # The marker the QBO writer puts on every invoice (domain/ledger_numbers.py).
            "PrivateNote": f"Keap invoice {order['invoice_id']}, order {order['id']}",
            "Line": [
                {"DetailType": "SalesItemLineDetail", "Amount": total, "SalesItemLineDetail": {}}
            ],
        }
        return client.create_invoice(tenant.tenant_id, body, str(uuid.uuid4())).id

    # -- payments entered in the ledger ----------------------------------------------------

    def xero_payment(
        self, tenant: ConnectedTenant, invoice_id: str, amount: str, reference: str = ""
    ) -> str:
        element = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Date": "2026-03-10",
            "Amount": Decimal(amount),
            "Reference": reference,
        }
        [result] = self.xero_client().create_payments(tenant.tenant_id, [element], uuid.uuid4().hex)
        assert result.ok, result.messages
        return result.element["PaymentID"]

    def qbo_payment(
        self, tenant: ConnectedTenant, invoice_id: str, amount: str, note: str = ""
    ) -> str:
        client = self.qbo_client()
        invoice = client.read_invoice(tenant.tenant_id, invoice_id)
        body = {
            "CustomerRef": {"value": invoice.customer_id},
            "TotalAmt": Decimal(amount),
            "TxnDate": "2026-03-10",
            "PrivateNote": note,
            "Line": [
                {
                    "Amount": Decimal(amount),
                    "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}],
                }
            ],
        }
        return client.create_payment(tenant.tenant_id, body, str(uuid.uuid4())).id

    def ledger_payment(self, tenant: ConnectedTenant, invoice_id: str, amount: str) -> str:
        """A payment entered by hand in the tenant's ledger, with no Keap reference."""
        if tenant.destination is Destination.XERO:
            return self.xero_payment(tenant, invoice_id, amount)
        return self.qbo_payment(tenant, invoice_id, amount)

    # -- webhooks --------------------------------------------------------------------------

    def ledger_url(self, destination: Destination) -> str:
        return self.xero_url if destination is Destination.XERO else self.qbo_url

    def subscribe_webhooks(self, destination: Destination, qbo_format: str = "cloudevents") -> None:
        if destination is Destination.XERO:
            self.subscribe_xero_webhooks()
        else:
            self.subscribe_qbo_webhooks(qbo_format)

    def subscribe_xero_webhooks(self) -> None:
        url = f"{self.webhooks_url}/webhooks/xero"
        requests.put(
            f"{self.xero_url}/_sandbox/xero/webhooks", json={"url": url, "key": XERO_KEY}, timeout=5
        ).raise_for_status()
        eventually(
            lambda: requests.get(f"{self.xero_url}/_sandbox/xero/webhooks", timeout=5).json()[
                "active"
            ],
            "Xero's intent-to-receive check",
        )

    def subscribe_qbo_webhooks(
        self,
        format: str = "cloudevents",  # noqa: A002
        entities: tuple[str, ...] = (),
    ) -> None:
        """`entities`: only these are notified (the stand-in's default list when empty)."""
        body = {
            "url": f"{self.webhooks_url}/webhooks/qbo",
            "verifier_token": QBO_VERIFIER,
            "format": format,
            "entities": list(entities),
        }
        requests.put(
            f"{self.qbo_url}/_sandbox/qbo/webhooks", json=body, timeout=5
        ).raise_for_status()

    def faults(self, base_url: str, **faults) -> None:
        requests.put(f"{base_url}/_sandbox/faults", json=faults, timeout=5).raise_for_status()

    def finish_delivered_webhooks(self) -> None:
        """Wait until reverse-sync has handled every ledger notice published so far."""
        finished_with_everything_published(
            self.settings,
            group_name(GROUP_ID, self.settings),
            [topic_name(Topic.LEDGER_NOTIFICATIONS, self.settings)],
        )

    def ledger_notices_published(self) -> int:
        topic = topic_name(Topic.LEDGER_NOTIFICATIONS, self.settings)
        return sum(end_offsets(self.settings, [topic]).values())

    def deliveries(self, base_url: str) -> list[dict]:
        return requests.get(f"{base_url}/_sandbox/webhooks/deliveries", timeout=5).json()

    # -- reading back ----------------------------------------------------------------------

    def keap_payments(self, tenant: ConnectedTenant, order_id: str) -> list[KeapPayment]:
        return self.keap.client().list_order_payments(tenant.tenant_id, str(order_id))

    def reverse_payments(self, tenant: ConnectedTenant, order_id: str) -> list[KeapPayment]:
        """The order's Keap payments that reverse-sync recorded."""
        return [p for p in self.keap_payments(tenant, order_id) if is_reverse_sync_note(p.note)]

    def id_map(self) -> IdMap:
        return IdMap(self.redis, self.publisher, self.settings)

    def xero_client(self):
        from invoicesync.clients.xero import xero_client_from_settings

        return xero_client_from_settings(self.settings, self.redis)

    def qbo_client(self):
        from invoicesync.clients.qbo import qbo_client_from_settings

        return qbo_client_from_settings(self.settings, self.redis)


@pytest.fixture
def stack(settings, redis_client):
    base = replace(
        settings,
        token_encryption_key=generate_key(),
        xero_webhook_key=XERO_KEY,
        qbo_webhook_verifier_token=QBO_VERIFIER,
        poll_overlap_seconds=5,
        # A token answer later than this is lost (the lost-refresh-answer tests delay one).
        oauth_token_timeout_seconds=1.0,
    )
    with (
        keap_stand_in(base, redis_client) as keap,
        serving(create_xero_app()) as xero_url,
        qbo_sandbox(base) as qbo,
    ):
        wired = replace(
            keap.settings,
            xero_api_base=xero_url,
            xero_token_url=f"{xero_url}/connect/token",
            xero_client_id=DEMO_CLIENT_ID,
            xero_client_secret=DEMO_CLIENT_SECRET,
            qbo_api_base=qbo.settings.qbo_api_base,
            qbo_token_url=qbo.settings.qbo_token_url,
            qbo_client_id=qbo.settings.qbo_client_id,
            qbo_client_secret=qbo.settings.qbo_client_secret,
        )
        for url in (xero_url, qbo.base_url):
            requests.put(f"{url}/_sandbox/faults", json={"webhook_delay_seconds": 0}, timeout=5)
        keap.redis = redis_client
        keap.settings = wired
        service = build_service(wired)
        # The tests drive the ledger poll and the connection rounds themselves: the loop's own
        # rounds stay out.
        round_lock = redis_client.lock(lock_key(POLLER_LOCK, "all"), timeout=3600)
        round_lock.acquire()
        refresher_lock = redis_client.lock(lock_key(REFRESHER_LOCK, "all"), timeout=3600)
        refresher_lock.acquire()
        worker = threading.Thread(
            target=service.loop.run, kwargs={"install_signal_handlers": False}, daemon=True
        )
        worker.start()
        publisher = Publisher(wired)
        with serving(create_webhook_app(wired)) as webhooks_url:
            yield ReverseStack(
                wired, keap, xero_url, qbo.base_url, webhooks_url, service, publisher
            )
        service.loop.stop()
        worker.join(timeout=10)
        publisher.close()
        round_lock.release()
        refresher_lock.release()
