"""In-memory Xero data: organisations and their books, connections, idempotent replies."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from invoicesync_sandbox.xero import seed
from invoicesync_sandbox.xero.wire import ms_date, utc_string

IDEMPOTENCY_WINDOW = timedelta(minutes=6)


@dataclass
class Books:
    """One organisation (tenant) and everything in it, keyed by Xero ids."""

    tenant_id: str
    name: str
    created: datetime
    accounts: dict[str, dict] = field(default_factory=dict)
    tax_rates: dict[str, dict] = field(default_factory=dict)
    items: dict[str, dict] = field(default_factory=dict)
    contacts: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    payments: dict[str, dict] = field(default_factory=dict)
    credit_notes: dict[str, dict] = field(default_factory=dict)
    invoice_sequence: int = 0
    credit_note_sequence: int = 0

    def account_by_code(self, code: str) -> dict | None:
        return next((a for a in self.accounts.values() if a.get("Code") == code), None)

    def next_invoice_number(self) -> str:
        self.invoice_sequence += 1
        return f"INV-{self.invoice_sequence:04d}"

    def next_credit_note_number(self) -> str:
        self.credit_note_sequence += 1
        return f"CN-{self.credit_note_sequence:04d}"

    def organisation(self) -> dict:
        return {
            "OrganisationID": self.tenant_id,
            "APIKey": "",
            "Name": self.name,
            "LegalName": self.name,
            "PaysTax": True,
            "Version": "GLOBAL",
            "OrganisationType": "COMPANY",
            "BaseCurrency": "USD",
            "CountryCode": "US",
            "IsDemoCompany": True,
            "OrganisationStatus": "ACTIVE",
            "FinancialYearEndDay": 31,
            "FinancialYearEndMonth": 12,
            "SalesTaxBasis": "ACCRUALS",
            "DefaultSalesTax": "Tax Exclusive",
            "DefaultPurchasesTax": "Tax Exclusive",
            "Timezone": "UTC",
            "OrganisationEntityType": "COMPANY",
            "ShortCode": "!" + self.tenant_id[:5],
            "Class": "DEMO",
            "Edition": "BUSINESS",
            "CreatedDateUTC": ms_date(self.created),
        }


@dataclass
class Connection:
    id: str
    client_id: str
    user_id: str
    tenant_id: str
    auth_event_id: str
    created: datetime
    updated: datetime

    def to_wire(self, tenant_name: str) -> dict:
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": tenant_name,
            "createdDateUtc": utc_string(self.created).rstrip("Z"),
            "updatedDateUtc": utc_string(self.updated).rstrip("Z"),
        }


@dataclass(frozen=True)
class StoredReply:
    fingerprint: str
    status: int
    body: bytes
    content_type: str
    expires_at: datetime


class XeroStore:
    """All tenants' data; callers hold `lock` across a read-modify-write."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.books: dict[str, Books] = {}
        self.connections: dict[str, Connection] = {}
        self.replies: dict[tuple[str, str, str], StoredReply] = {}

    def create_books(self, name: str, now: datetime, tenant_id: str | None = None) -> Books:
        with self.lock:
            tenant_id = tenant_id or str(uuid.uuid4())
            if tenant_id in self.books:
                return self.books[tenant_id]
            books = Books(tenant_id, name, now)
            _seed(books, now)
            self.books[tenant_id] = books
            return books

    def organisation_named(self, name: str, now: datetime) -> Books:
        """The organisation with this name, created (with its seed books) on first mention."""
        with self.lock:
            found = next((b for b in self.books.values() if b.name == name), None)
            return found or self.create_books(name, now)

    def connect(
        self, client_id: str, user_id: str, tenant_id: str, auth_event_id: str, now: datetime
    ) -> Connection:
        with self.lock:
            for connection in self.connections.values():
                if (connection.client_id, connection.user_id, connection.tenant_id) == (
                    client_id,
                    user_id,
                    tenant_id,
                ):
                    connection.auth_event_id, connection.updated = auth_event_id, now
                    return connection
            connection = Connection(
                str(uuid.uuid4()), client_id, user_id, tenant_id, auth_event_id, now, now
            )
            self.connections[connection.id] = connection
            return connection

    def connections_of(self, client_id: str, user_id: str) -> list[Connection]:
        with self.lock:
            return [
                c
                for c in self.connections.values()
                if c.client_id == client_id and c.user_id == user_id
            ]

    def is_connected(self, client_id: str, user_id: str, tenant_id: str) -> bool:
        return any(c.tenant_id == tenant_id for c in self.connections_of(client_id, user_id))

    def stored_reply(self, scope: tuple[str, str, str], now: datetime) -> StoredReply | None:
        reply = self.replies.get(scope)
        if reply is not None and reply.expires_at <= now:
            del self.replies[scope]
            return None
        return reply

    def remember_reply(
        self,
        scope: tuple[str, str, str],
        fingerprint: str,
        status: int,
        body: bytes,
        content_type: str,
        now: datetime,
    ) -> None:
        self.replies[scope] = StoredReply(
            fingerprint, status, body, content_type, now + IDEMPOTENCY_WINDOW
        )

    def clear(self) -> None:
        with self.lock:
            self.books.clear()
            self.connections.clear()
            self.replies.clear()


def tax_rate_record(
    tax_type: str, name: str, components: list[dict], *, revenue: bool, report_tax_type: str = ""
) -> dict:
    """A TaxRate as GET /TaxRates shows it. DisplayTaxRate sums the components; a compound one
    is charged on the amount plus the others' tax, so it counts for more in EffectiveRate."""
    rates = [(Decimal(str(c["Rate"])), bool(c.get("IsCompound"))) for c in components]
    simple = sum((rate for rate, compound in rates if not compound), Decimal(0))
    effective = simple
    for rate, compound in rates:
        if compound:
            effective += rate + simple * rate / 100
    return {
        "Name": name,
        "TaxType": tax_type,
        "ReportTaxType": report_tax_type or ("OUTPUT" if revenue else "INPUT"),
        "CanApplyToAssets": True,
        "CanApplyToEquity": True,
        "CanApplyToExpenses": not revenue,
        "CanApplyToLiabilities": True,
        "CanApplyToRevenue": revenue,
        "DisplayTaxRate": sum((rate for rate, _ in rates), Decimal(0)),
        "EffectiveRate": effective,
        "Status": "ACTIVE",
        "TaxComponents": components,
    }


def _seed(books: Books, now: datetime) -> None:
    stamp = ms_date(now)
    for code, name, kind, klass, tax_type, payments, system in seed.ACCOUNTS:
        account_id = str(uuid.uuid4())
        account = {
            "AccountID": account_id,
            "Code": code,
            "Name": name,
            "Type": kind,
            "Class": klass,
            "Status": "ACTIVE",
            "TaxType": tax_type,
            "EnablePaymentsToAccount": payments,
            "ShowInExpenseClaims": False,
            "BankAccountType": "BANK" if kind == "BANK" else "",
            "CurrencyCode": "USD" if kind == "BANK" else None,
            "ReportingCode": klass[:3],
            "HasAttachments": False,
            "UpdatedDateUTC": stamp,
            "AddToWatchlist": False,
        }
        if system:
            account["SystemAccount"] = system
        books.accounts[account_id] = {k: v for k, v in account.items() if v is not None}
    for tax_type, name, rate, revenue in seed.TAX_RATES:
        components = [{"Name": name, "Rate": rate, "IsCompound": False, "IsNonRecoverable": False}]
        books.tax_rates[tax_type] = tax_rate_record(tax_type, name, components, revenue=revenue)
    for code, name, description, price, account_code, tax_type in seed.ITEMS:
        item_id = str(uuid.uuid4())
        books.items[item_id] = {
            "ItemID": item_id,
            "Code": code,
            "Name": name,
            "Description": description,
            "IsSold": True,
            "IsPurchased": False,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": price, "AccountCode": account_code, "TaxType": tax_type},
            "PurchaseDetails": {},
            "UpdatedDateUTC": stamp,
        }
