"""Distinct, searchable contact names for Xero and QBO when Keap allows duplicates."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from invoicesync.domain.canonical import Contact

XERO_NAME_MAX = 255
QBO_DISPLAY_NAME_MAX = 500
_WHITESPACE = re.compile(r"\s+")


def contact_base_name(contact: Contact) -> str:
    """The name a person would recognise: Keap's name, else company, else email, else the id."""
    for candidate in (contact.name, contact.company, contact.email):
        cleaned = _collapse_whitespace(candidate or "")
        if cleaned:
            return cleaned
    return f"Keap contact {contact.keap_id}"


def name_key(name: str) -> str:
    """How Xero and QBO compare names: case-, accent- and spacing-insensitive."""
    decomposed = unicodedata.normalize("NFKD", _collapse_whitespace(name))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def xero_contact_name(contact: Contact, taken_names: Collection[str] = ()) -> str:
    """The Xero Name for a Keap contact: its own name, or that name plus its Keap id if taken.

    The suffix depends only on the contact's own Keap id, so whichever duplicate arrives
    second always gets the same name on a replay. Xero keeps any name, quotes included; the
    writer finds contacts again by ContactNumber or `searchTerm`, never by a `where` on Name.
    """
    base = contact_base_name(contact)
    return _first_free(base, contact.keap_id, XERO_NAME_MAX, taken_names)


def qbo_display_name(contact: Contact, taken_names: Collection[str] = ()) -> str:
    """The QBO DisplayName: like the Xero name, without the colon QBO reserves for sub-customers."""
    base = contact_base_name(contact).replace(":", " -")
    return _first_free(base, contact.keap_id, QBO_DISPLAY_NAME_MAX, taken_names)


def disambiguated_name(base: str, keap_id: str, max_length: int) -> str:
    """`base (Keap <id>)`, trimming the base rather than the id when the result is too long."""
    suffix = f" (Keap {keap_id})"
    return base[: max(0, max_length - len(suffix))].rstrip() + suffix


def xero_search_term(name: str) -> str:
    """The longest run of the name free of characters Xero's filters choke on; Xero's
    `searchTerm` matches by "contains", so the caller compares the rows with `name_key`."""
    runs = re.split(r'["\\&+]', name)
    return max((run.strip() for run in runs), key=len, default="")


def _first_free(base: str, keap_id: str, max_length: int, taken_names: Collection[str]) -> str:
    plain = base[:max_length].rstrip()
    taken = {name_key(name) for name in taken_names}
    if name_key(plain) not in taken:
        return plain
    return disambiguated_name(base, keap_id, max_length)


def _collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
