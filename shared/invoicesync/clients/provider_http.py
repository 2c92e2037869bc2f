"""The one HTTP layer under every provider client: limits, bearer tokens, 401/429/5xx, logs.

Provider clients build URLs and bodies; this module turns each call into either a response
or one of the project's error types, and never lets a token reach a log line.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import requests

from invoicesync.errors import InvalidInput, RateLimited, Transient
from invoicesync.metrics import PROVIDER_CALLS
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.limiter import Limiter, RateLimit, TokenBucket

log = logging.getLogger(__name__)

REQUEST_ID_HEADERS = {
    "keap": "x-keap-request-id",
    "xero": "xero-correlation-id",
    "qbo": "intuit_tid",
}
QBO_THROTTLE_SECONDS = 60.0  # Intuit: wait a minute; its 429 body is XML with no Retry-After
MAX_BACKOFF_SECONDS = 60.0
SAFE_METHODS = frozenset({"GET", "HEAD"})
GET_ATTEMPTS = 3
ERROR_TEXT_LIMIT = 2000


class ProviderRejected(InvalidInput):
    """The provider refused the request (4xx other than 429): retrying the same call won't help."""

    def __init__(self, message: str, *, status: int, body: Any, request_id: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.request_id = request_id


class ProviderHttp:
    def __init__(
        self,
        provider: str,
        session: requests.Session,
        access_tokens: AccessTokens,
        limiter: Limiter,
        rules_for: Callable[[str], Sequence[RateLimit]],
        scope_key_for: Callable[[str], str],
        timeout: tuple[float, float] = (5, 30),
        *,
        concurrency_for: Callable[[str], int | None] = lambda _tenant_id: None,
        lost_access: Callable[[requests.Response], str | None] = lambda _response: None,
        limiter_max_wait: float = 10.0,
        tenant_share: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self._session = session
        self._tokens = access_tokens
        self._limiter = limiter
        self._rules_for = rules_for
        self._scope_key_for = scope_key_for
        self._concurrency_for = concurrency_for
        self._lost_access = lost_access
        self._timeout = timeout
        self._max_wait = limiter_max_wait
        self._tenant_share = tenant_share
        self._sleep = sleep
        self._throttle_strikes: dict[str, int] = {}

    def request(
        self,
        method: str,
        url: str,
        tenant_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one call for `tenant_id`; a 2xx/3xx response or RateLimited, Transient,
        Disconnected or ProviderRejected. Safe methods are retried briefly on Transient."""
        method = method.upper()
        extra = {**(headers or {}), **(idempotency_headers or {})}
        attempts = GET_ATTEMPTS if method in SAFE_METHODS else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._call(method, url, tenant_id, params, json, extra)
            except RateLimited:
                raise
            except Transient:
                if attempt == attempts:
                    raise
                self._sleep(0.2 * 2 ** (attempt - 1) * (1 + random.random()))
        raise AssertionError("unreachable")

    def _call(
        self,
        method: str,
        url: str,
        tenant_id: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: dict[str, str],
    ) -> requests.Response:
        scope_key = self._scope_key_for(tenant_id)
        with self._slot(scope_key, tenant_id):
            token = self._tokens.access_token(self.provider, tenant_id)
            response = self._send(method, url, tenant_id, token, params, json, headers)
            if response.status_code == 401:
                token = self._tokens.force_refresh(self.provider, tenant_id, token)
                response = self._send(method, url, tenant_id, token, params, json, headers)
        # The provider's own words for "this connection no longer works" (after a refresh
        # where a 401 allowed one): the connection is lost, as when a refresh token dies.
        reason = self._lost_access(response)
        if reason is not None:
            raise self._tokens.lose_connection(self.provider, tenant_id, reason)
        if response.status_code == 403:
            # Not (yet) a lost connection, but a risk to it: connection health shows it.
            self._tokens.note_forbidden(self.provider, tenant_id, f"403 to {method} {url}")
        return self._outcome(response, scope_key, tenant_id)

    def pace(self, tenant_id: str, bucket: TokenBucket) -> None:
        """One token of the tenant's `bucket` for a call about to be made, or RateLimited at
        once: for calls a caller would rather gather than make one by one."""
        self._limiter.take(tenant_id, bucket)

    @contextmanager
    def _slot(self, scope_key: str, tenant_id: str) -> Iterator[None]:
        limit = self._concurrency_for(tenant_id)
        lease = self._timeout[0] + self._timeout[1] + 5
        slot = (
            nullcontext()
            if limit is None
            else self._limiter.concurrency(
                scope_key, limit, lease, max_wait=self._max_wait, tenant_id=tenant_id
            )
        )
        with slot:
            yield

    def _send(
        self,
        method: str,
        url: str,
        tenant_id: str,
        token: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: dict[str, str],
    ) -> requests.Response:
        if self._tenant_share is not None:
            # First the tenant's own share, so one tenant's flood is set aside before it can
            # spend the app-wide budget every other tenant needs.
            self._limiter.take(tenant_id, self._tenant_share)
        self._limiter.acquire(
            self._scope_key_for(tenant_id),
            self._rules_for(tenant_id),
            max_wait=self._max_wait,
            tenant_id=tenant_id,
        )
        started = time.monotonic()
        path = urlsplit(url).path
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=json,
                headers={
                    "Accept": "application/json",
                    **headers,
                    "Authorization": f"Bearer {token}",
                },
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            PROVIDER_CALLS.labels(provider=self.provider, status="error").inc()
            log.warning(
                "provider call failed",
                extra=self._log_fields(tenant_id, method, path, None, started, None)
                | {"error": type(exc).__name__},
            )
            raise Transient(f"{self.provider} {method} {path}: {type(exc).__name__}") from exc
        request_id = response.headers.get(REQUEST_ID_HEADERS.get(self.provider, "x-request-id"))
        PROVIDER_CALLS.labels(provider=self.provider, status=str(response.status_code)).inc()
        log.info(
            "provider call",
            extra=self._log_fields(
                tenant_id, method, path, response.status_code, started, request_id
            ),
        )
        return response

    def _log_fields(
        self,
        tenant_id: str,
        method: str,
        path: str,
        status: int | None,
        started: float,
        request_id: str | None,
    ) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "tenant_id": tenant_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "provider_request_id": request_id,
        }

    def _outcome(
        self, response: requests.Response, scope_key: str, tenant_id: str
    ) -> requests.Response:
        status = response.status_code
        request_id = response.headers.get(REQUEST_ID_HEADERS.get(self.provider, "x-request-id"))
        if status == 429 or _legacy_xero_throttle(response):
            retry_after = self._retry_after(response, scope_key)
            self._limiter.penalise(scope_key, retry_after)
            raise RateLimited(
                f"{self.provider} throttled {tenant_id} (request {request_id})",
                retry_after=retry_after,
                tenant_id=tenant_id,
            )
        self._throttle_strikes.pop(scope_key, None)
        if status >= 500:
            raise Transient(f"{self.provider} answered {status} (request {request_id})")
        if status >= 400:
            raise ProviderRejected(
                f"{self.provider} rejected the request: {status} (request {request_id})",
                status=status,
                body=_error_body(response),
                request_id=request_id,
            )
        return response

    def _retry_after(self, response: requests.Response, scope_key: str) -> float:
        header = response.headers.get("Retry-After")
        if header is not None:
            try:
                return max(0.0, float(header))
            except ValueError:
                pass  # an HTTP date: fall through to our own policy
        if self.provider == "qbo":
            return QBO_THROTTLE_SECONDS
        # Keap (and Xero's concurrency breaches) say nothing: back off exponentially.
        strikes = self._throttle_strikes.get(scope_key, 0) + 1
        self._throttle_strikes[scope_key] = strikes
        return min(MAX_BACKOFF_SECONDS, 2.0 ** (strikes - 1) * (1 + random.random() / 4))


def _legacy_xero_throttle(response: requests.Response) -> bool:
    """Older Xero documents throttling as a 503 with an `oauth_problem` form body."""
    return response.status_code == 503 and "oauth_problem=rate" in response.text[:500]


def _error_body(response: requests.Response) -> Any:
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text[:ERROR_TEXT_LIMIT]
