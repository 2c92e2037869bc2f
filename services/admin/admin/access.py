"""Who may call what: an operator key sees every tenant, a tenant key only its own.

One check for both surfaces. The API (bearer key) and the console (signed-in session) each
build an `AccessGuard` that says how to find the caller and how to say no; its decorators
wrap views the way Flask's tutorial wraps them in `login_required`.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from admin.stores.api_keys import ApiKey, Role

View = Callable[..., Any]


class Refusal(enum.Enum):
    NO_KEY = "no key"
    OTHER_TENANT = "another tenant's key"
    NOT_OPERATOR = "not an operator key"


def tenant_access_refusal(key: ApiKey | None, tenant_id: str) -> Refusal | None:
    if key is None:
        return Refusal.NO_KEY
    if not key.may_access(tenant_id):
        return Refusal.OTHER_TENANT
    return None


def operator_refusal(key: ApiKey | None) -> Refusal | None:
    if key is None:
        return Refusal.NO_KEY
    if key.role is not Role.OPERATOR:
        return Refusal.NOT_OPERATOR
    return None


@dataclass(frozen=True)
class AccessGuard:
    """One surface's way to find who is calling and to turn a refusal into its answer."""

    caller: Callable[[], ApiKey | None]
    refuse: Callable[[Refusal], Exception]

    def tenant_required(self, view: View) -> View:
        """For a view taking `tenant_id`: an operator's key, or that tenant's own."""

        @functools.wraps(view)
        def guarded(**kwargs: Any) -> Any:
            self._check(tenant_access_refusal(self.caller(), kwargs["tenant_id"]))
            return view(**kwargs)

        return guarded

    def operator_required(self, view: View) -> View:
        @functools.wraps(view)
        def guarded(**kwargs: Any) -> Any:
            self._check(operator_refusal(self.caller()))
            return view(**kwargs)

        return guarded

    def _check(self, refusal: Refusal | None) -> None:
        if refusal is not None:
            raise self.refuse(refusal)
