"""Keap contacts as Xero ContactIDs: cached, found in batches, created in batches, names unique.

Lookup order: ContactNumber (= Keap contact id), then email, then name (by `searchTerm`); a
contact found by email or name is adopted only when no other Keap contact owns it. Names are
written as Keap has them. Same-named Keap contacts get
distinct Xero names deterministically (`xero_contact_name`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import redis

from invoicesync.clients.xero import XERO_BATCH_MAX, XeroClient
from invoicesync.domain.canonical import Contact
from invoicesync.domain.canonical_to_xero import xero_contact_from_canonical
from invoicesync.domain.contact_names import (
    name_key,
    xero_contact_name,
    xero_search_term,
)
from invoicesync.errors import InvalidInput
from invoicesync.stores.redis_connection import reply_text
from invoicesync.writing.xero_documents import find_xero_contact_ids

NAME_TAKEN = "already assigned to another contact"


def _cache_key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:xero:contact-ids"


class XeroContacts:
    def __init__(self, client: XeroClient, cache: redis.Redis) -> None:
        self._client = client
        self._cache = cache

    def contact_ids(self, tenant_id: str, contacts: Sequence[Contact]) -> dict[str, str]:
        """Keap contact id → Xero ContactID for every contact, creating the missing ones."""
        unique = list({contact.keap_id: contact for contact in contacts}.values())
        cached = self._cache.hmget(_cache_key(tenant_id), [c.keap_id for c in unique])
        found = {c.keap_id: reply_text(raw) for c, raw in zip(unique, cached, strict=True) if raw}
        missing = [c for c in unique if c.keap_id not in found]
        if missing:
            resolved = self._look_up(tenant_id, missing)
            resolved |= self._create(tenant_id, [c for c in missing if c.keap_id not in resolved])
            # redis-py types `mapping` with an invariant key type, so no dict[str, str] fits.
            self._cache.hset(_cache_key(tenant_id), mapping=resolved)  # type: ignore[arg-type]
            found |= resolved
        return found

    def _look_up(self, tenant_id: str, contacts: list[Contact]) -> dict[str, str]:
        return find_xero_contact_ids(self._client, tenant_id, contacts)

    def _create(self, tenant_id: str, contacts: list[Contact]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        taken: list[str] = []
        retry: list[tuple[Contact, str]] = []
        for start in range(0, len(contacts), XERO_BATCH_MAX):
            chunk = contacts[start : start + XERO_BATCH_MAX]
            names = []
            for contact in chunk:
                names.append(xero_contact_name(contact, taken))
                taken.append(names[-1])
            elements = [
                xero_contact_from_canonical(c, n) for c, n in zip(chunk, names, strict=True)
            ]
            key = _batch_key(tenant_id, elements)
            results = self._client.create_contacts(tenant_id, elements, key)
            for contact, name, result in zip(chunk, names, results, strict=True):
                if result.ok:
                    resolved[contact.keap_id] = result.element["ContactID"]
                elif any(NAME_TAKEN in message for message in result.messages):
                    retry.append((contact, name))
                else:
                    raise InvalidInput(f"Xero refused contact {contact.keap_id}: {result.messages}")
        for contact, name in retry:
            resolved[contact.keap_id] = self._adopt_or_rename(tenant_id, contact, name)
        return resolved

    def _adopt_or_rename(self, tenant_id: str, contact: Contact, name: str) -> str:
        """The name is taken in Xero: adopt that contact if no Keap contact owns it, else
        create ours under its disambiguated name."""
        # searchTerm, not `where`: a where clause cannot quote a name holding `"` (Xero has
        # no escape for it), and Xero keeps such names as they are.
        rows = self._client.contacts_by_search_term(tenant_id, xero_search_term(name))
        same = [row for row in rows if name_key(row.get("Name") or "") == name_key(name)]
        for row in same:
            if row.get("ContactNumber") in (None, "", contact.keap_id):
                return row["ContactID"]
        distinct = xero_contact_name(contact, [name])
        element = xero_contact_from_canonical(contact, distinct)
        result = self._client.create_contacts(
            tenant_id, [element], _batch_key(tenant_id, [element])
        )[0]
        if not result.ok:
            raise InvalidInput(f"Xero refused contact {contact.keap_id}: {result.messages}")
        return result.element["ContactID"]


def _batch_key(tenant_id: str, elements: list[dict]) -> str:
    digest = hashlib.sha256(repr((tenant_id, elements)).encode()).hexdigest()
    return f"invoicesync-contacts-{digest}"
