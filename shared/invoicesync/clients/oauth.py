"""OAuth2 against Keap, Xero and QBO: the authorize URL, code exchange, refresh, Xero tenants."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from invoicesync.errors import InvalidInput, RateLimited, Transient
from invoicesync.settings import ProviderEndpoints

log = logging.getLogger(__name__)

# Xero's scopes come from the settings (`xero_scopes`); these are the fallbacks.
DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "keap": ("full",),
    "xero": (
        "offline_access",
        "accounting.invoices",
        "accounting.payments",
        "accounting.contacts",
        "accounting.settings.read",
    ),
    "qbo": ("com.intuit.quickbooks.accounting",),
}
TOKEN_TIMEOUT = (5, 30)
QBO_THROTTLE_SECONDS = 60.0
QBO_MINOR_VERSION = "75"  # the QBO client uses the same


class OAuthInvalidGrant(InvalidInput):
    """The code or refresh token is used, expired or revoked: the user must reconnect."""


class OAuthRejected(InvalidInput):
    """The token endpoint refused the request for another reason (client, scope, redirect)."""

    def __init__(self, message: str, *, status: int, error: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class TokenResponse:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    x_refresh_token_expires_in: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class OAuthClient:
    """One provider's authorization server, spoken the way that provider expects."""

    def __init__(
        self,
        endpoints: ProviderEndpoints,
        provider: str,
        http: requests.Session,
        *,
        timeout: float = TOKEN_TIMEOUT[1],
    ) -> None:
        if provider not in DEFAULT_SCOPES:
            raise ValueError(f"unknown provider {provider!r}")
        self._endpoints = endpoints
        self._provider = provider
        self._http = http
        self._timeout = timeout

    def authorize_url(
        self, state: str, redirect_uri: str, scopes: tuple[str, ...] | None = None
    ) -> str:
        params = {
            "client_id": self._endpoints.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes or self._endpoints.scopes or DEFAULT_SCOPES[self._provider]),
            "state": state,
        }
        separator = "&" if "?" in self._endpoints.authorize_url else "?"
        return f"{self._endpoints.authorize_url}{separator}{urlencode(params)}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenResponse:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if self._provider == "keap":
            # Keap documents the code exchange with the client credentials in the body, and
            # RFC 6749 §2.3.1 forbids a second method in the same request: no Basic header.
            form |= {
                "client_id": self._endpoints.client_id,
                "client_secret": self._endpoints.client_secret,
            }
            return self._token_request(form, basic_auth=False)
        return self._token_request(form)

    def refresh(self, refresh_token: str) -> TokenResponse:
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def xero_connections(
        self, access_token: str, auth_event_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Xero's `GET /connections`: the organisations (tenantId, tenantName, authEventId...)
        this token may act for; only those of one consent when `auth_event_id` is given."""
        url = f"{self._endpoints.api_base}/connections"
        params = {"authEventId": auth_event_id} if auth_event_id else None
        try:
            response = self._http.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=(TOKEN_TIMEOUT[0], self._timeout),
            )
        except requests.RequestException as exc:
            raise Transient(f"xero connections: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise Transient(f"xero connections answered {response.status_code}")
        if response.status_code != 200:
            raise OAuthRejected(
                f"xero connections answered {response.status_code}",
                status=response.status_code,
                error="connections",
            )
        rows = list(response.json())
        # Filter here too: the query parameter is optional in the spec.
        return [r for r in rows if auth_event_id is None or r.get("authEventId") == auth_event_id]

    def xero_consented_connections(self, access_token: str) -> list[dict[str, Any]]:
        """The organisations this consent connected: `/connections` lists every organisation
        the user ever connected to the app, and only those carrying the access token's
        `authentication_event_id` came from this consent (xero_identity.yaml, authEventId)."""
        event_id = str(_jwt_claims(access_token).get("authentication_event_id") or "")
        if not event_id:
            raise OAuthRejected(
                "the Xero access token names no authentication event",
                status=200,
                error="authentication_event_id",
            )
        return self.xero_connections(access_token, event_id)

    def qbo_company_info(self, access_token: str, realm_id: str) -> dict[str, Any]:
        """QBO's `GET /v3/company/{realmId}/companyinfo/{realmId}` with a fresh token: the
        callback's `realmId` is only a URL parameter, and a token answers for its own company
        alone (qbo.md §1, §2.8). Any refusal: OAuthRejected."""
        url = f"{self._endpoints.api_base}/v3/company/{realm_id}/companyinfo/{realm_id}"
        try:
            response = self._http.get(
                url,
                params={"minorversion": QBO_MINOR_VERSION},
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=TOKEN_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise Transient(f"qbo companyinfo: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise Transient(f"qbo companyinfo answered {response.status_code}")
        info = _json_or_empty(response).get("CompanyInfo")
        if response.status_code != 200 or not isinstance(info, dict):
            raise OAuthRejected(
                f"qbo companyinfo answered {response.status_code}",
                status=response.status_code,
                error="companyinfo",
            )
        return info

    def _token_request(self, form: dict[str, str], *, basic_auth: bool = True) -> TokenResponse:
        grant = form["grant_type"]
        auth = (self._endpoints.client_id, self._endpoints.client_secret) if basic_auth else None
        try:
            response = self._http.post(
                self._endpoints.token_url,
                data=form,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=(TOKEN_TIMEOUT[0], self._timeout),
            )
        except requests.RequestException as exc:
            raise Transient(f"{self._provider} token endpoint: {type(exc).__name__}") from exc
        log.info(
            "oauth token request",
            extra={"provider": self._provider, "grant": grant, "status": response.status_code},
        )
        if response.status_code == 429:
            raise RateLimited(
                f"{self._provider} token endpoint throttled",
                retry_after=_retry_after(response, QBO_THROTTLE_SECONDS),
            )
        if response.status_code >= 500:
            raise Transient(f"{self._provider} token endpoint answered {response.status_code}")
        body = _json_or_empty(response)
        if response.status_code != 200:
            self._raise_for_error(grant, response.status_code, body)
        try:
            return TokenResponse(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_in=int(body["expires_in"]),
                x_refresh_token_expires_in=_optional_int(body.get("x_refresh_token_expires_in")),
                raw=body,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Transient(f"{self._provider} token response is incomplete: {exc}") from exc

    def _raise_for_error(self, grant: str, status: int, body: dict[str, Any]) -> None:
        error = str(body.get("error", "unknown"))
        description = str(body.get("error_description", ""))
        # Keap answers a dead refresh token with invalid_request "Invalid Refresh Token".
        keap_dead_refresh = (
            self._provider == "keap"
            and grant == "refresh_token"
            and error == "invalid_request"
            and "refresh token" in description.lower()
        )
        if error == "invalid_grant" or keap_dead_refresh:
            raise OAuthInvalidGrant(f"{self._provider} {grant}: {error} {description}".strip())
        raise OAuthRejected(
            f"{self._provider} {grant}: {status} {error} {description}".strip(),
            status=status,
            error=error,
        )


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT we just received from the token endpoint over TLS. Not verified:
    they only narrow which of the user's own connections this consent made."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _optional_int(value: str | int | float | None) -> int | None:
    return None if value is None else int(value)


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default
