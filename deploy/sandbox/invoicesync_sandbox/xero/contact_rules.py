"""Contact names: required, and unique among active contacts (compared case-insensitively)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

EMPTY_NAME = "Contact Name cannot be empty."


def fold(text: str) -> str:
    """Xero compares names and emails without case or accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def duplicate_name_message(name: str) -> str:
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


def contact_name_error(
    name: str | None, active_names: Iterable[tuple[str, str]], own_id: str | None = None
) -> str | None:
    """`active_names` yields (ContactID, Name) of the org's ACTIVE contacts."""
    if not name or not name.strip():
        return EMPTY_NAME
    wanted = fold(name)
    for contact_id, other in active_names:
        if contact_id != own_id and fold(other) == wanted:
            return duplicate_name_message(name)
    return None
