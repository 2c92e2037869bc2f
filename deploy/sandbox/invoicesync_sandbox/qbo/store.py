"""In-memory QBO companies (realms): entities by type and Id, change times, requestid replays."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime

from .wire import company_time

# URL segment -> entity name, for the entities this stand-in serves.
ENTITY_SEGMENTS = {
    "invoice": "Invoice",
    "customer": "Customer",
    "vendor": "Vendor",
    "employee": "Employee",
    "item": "Item",
    "account": "Account",
    "taxcode": "TaxCode",
    "taxrate": "TaxRate",
    "taxagency": "TaxAgency",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "refundreceipt": "RefundReceipt",
    "preferences": "Preferences",
    "companyinfo": "CompanyInfo",
}
ENTITY_NAMES = {name.lower(): name for name in ENTITY_SEGMENTS.values()}


@dataclass(frozen=True)
class EntityChange:
    """One write, as CDC and webhooks report it."""

    name: str
    entity_id: str
    operation: str  # Create | Update | Delete | Void
    at: datetime


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    content_type: str


@dataclass
class QboCompany:
    realm_id: str
    name: str
    country: str
    utc_offset_minutes: int
    entities: dict[str, dict[str, dict]] = field(default_factory=dict)
    updated_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    deleted: dict[tuple[str, str], datetime] = field(default_factory=dict)
    replies: dict[str, StoredResponse] = field(default_factory=dict)
    next_id: int = 1
    next_doc_number: int = 1001
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def is_us(self) -> bool:
        return self.country.upper() == "US"

    def new_id(self) -> str:
        value = str(self.next_id)
        self.next_id += 1
        return value

    def get(self, entity: str, entity_id: str) -> dict | None:
        return self.entities.get(entity, {}).get(str(entity_id))

    def all(self, entity: str) -> list[dict]:
        return list(self.entities.get(entity, {}).values())

    def stamp(self, body: dict, now: datetime, *, created: bool) -> None:
        """Set MetaData the way QBO does: create time once, last-updated on every write."""
        text = company_time(now, self.utc_offset_minutes)
        meta = dict(body.get("MetaData") or {})
        if created or "CreateTime" not in meta:
            meta["CreateTime"] = text
        meta["LastUpdatedTime"] = text
        body["MetaData"] = meta

    def put(self, entity: str, body: dict, now: datetime, *, created: bool) -> dict:
        self.stamp(body, now, created=created)
        self.entities.setdefault(entity, {})[body["Id"]] = body
        self.updated_at[(entity, body["Id"])] = now
        return body

    def remove(self, entity: str, entity_id: str, now: datetime) -> None:
        self.entities.get(entity, {}).pop(entity_id, None)
        self.updated_at.pop((entity, entity_id), None)
        self.deleted[(entity, entity_id)] = now

    def home_currency(self) -> str:
        prefs = self.get("Preferences", "1") or {}
        return ((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value", "USD")

    def time(self, now: datetime) -> str:
        return company_time(now, self.utc_offset_minutes, millis=True)


class QboStore:
    """Every company the stand-in knows, keyed by realmId."""

    def __init__(self) -> None:
        self._companies: dict[str, QboCompany] = {}
        self._lock = threading.Lock()

    def company(self, realm_id: str) -> QboCompany | None:
        return self._companies.get(realm_id)

    def add(self, company: QboCompany) -> QboCompany:
        with self._lock:
            return self._companies.setdefault(company.realm_id, company)

    def replace(self, company: QboCompany) -> None:
        with self._lock:
            self._companies[company.realm_id] = company

    def new_realm_id(self) -> str:
        # Real realmIds are long decimal numbers.
        return str(9130350000000000 + secrets.randbelow(10**12))

    def realm_ids(self) -> list[str]:
        return list(self._companies)

    def clear(self) -> None:
        with self._lock:
            self._companies.clear()
