"""OAuth2 token authority: clients, authorization codes, access/refresh tokens with rotation."""

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlparse

from invoicesync_sandbox.core.clock import SandboxClock

DEMO_CLIENT_ID = "invoicesync-demo"
DEMO_CLIENT_SECRET = "demo-secret"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class InvalidGrant(Exception):
    """The code or refresh token is unknown, expired, already used or bound to another client."""


class TokenExpired(Exception):
    """The access token was valid once but its lifetime has passed."""


class TokenInvalid(Exception):
    """The access token was never issued, or has been revoked."""


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_at: datetime
    token_type: str = "Bearer"
    id_token: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Grant:
    client_id: str
    subject: dict
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass
class _Client:
    client_secret: str
    redirect_uris: list[str]
    any_local_redirect: bool = False
    # When the app was created at the provider: Xero's scope rules depend on it.
    created_on: date | None = None


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    subject: dict
    expires_at: datetime


@dataclass
class _Refresh:
    client_id: str
    subject: dict
    scopes: tuple[str, ...]
    expires_at: datetime
    access_token: str
    used_at: datetime | None = None
    successor: TokenPair | None = None


class TokenAuthority:
    """Issues and checks tokens the way an OAuth2 provider does, on the sandbox clock."""

    def __init__(
        self,
        clock: SandboxClock,
        *,
        access_ttl: int,
        refresh_ttl: int,
        single_use_refresh: bool,
        reuse_grace_seconds: int | None,
        code_ttl: int = 300,
    ) -> None:
        self.clock = clock
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.single_use_refresh = single_use_refresh
        self.reuse_grace_seconds = reuse_grace_seconds
        self.code_ttl = code_ttl
        # Providers whose access tokens are JWTs (Xero) mint them here; the default is opaque.
        self.access_token_factory: Callable[[str, dict, tuple[str, ...], datetime], str] = (
            lambda _client_id, _subject, _scopes, _expires: secrets.token_urlsafe(32)
        )
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._clients: dict[str, _Client] = {}
            self._codes: dict[str, _Code] = {}
            self._access: dict[str, Grant] = {}
            self._refresh: dict[str, _Refresh] = {}
            self._clients[DEMO_CLIENT_ID] = _Client(DEMO_CLIENT_SECRET, [], any_local_redirect=True)

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        created_on: date | None = None,
    ) -> None:
        with self._lock:
            self._clients[client_id] = _Client(
                client_secret, list(redirect_uris), created_on=created_on
            )

    def client_created_on(self, client_id: str) -> date | None:
        client = self._clients.get(client_id)
        return None if client is None else client.created_on

    def check_client(self, client_id: str, client_secret: str) -> bool:
        client = self._clients.get(client_id)
        return client is not None and secrets.compare_digest(client.client_secret, client_secret)

    def is_known_client(self, client_id: str) -> bool:
        return client_id in self._clients

    def redirect_allowed(self, client_id: str, redirect_uri: str) -> bool:
        client = self._clients.get(client_id)
        if client is None:
            return False
        if redirect_uri in client.redirect_uris:
            return True
        return client.any_local_redirect and urlparse(redirect_uri).hostname in _LOCAL_HOSTS

    def create_code(
        self, client_id: str, redirect_uri: str, scopes: tuple[str, ...] | list[str], subject: dict
    ) -> str:
        code = secrets.token_urlsafe(24)
        expires_at = self.clock.now() + timedelta(seconds=self.code_ttl)
        with self._lock:
            self._codes[code] = _Code(
                client_id, redirect_uri, tuple(scopes), dict(subject), expires_at
            )
        return code

    def exchange_code(self, code: str, client_id: str, redirect_uri: str) -> TokenPair:
        with self._lock:
            entry = self._codes.pop(code, None)
            if entry is None or entry.expires_at <= self.clock.now():
                raise InvalidGrant("authorization code is invalid or expired")
            if entry.client_id != client_id or entry.redirect_uri != redirect_uri:
                raise InvalidGrant("authorization code was issued to another client or redirect")
            return self._issue_locked(client_id, entry.subject, entry.scopes)

    def refresh(self, refresh_token: str, client_id: str) -> TokenPair:
        with self._lock:
            now = self.clock.now()
            entry = self._refresh.get(refresh_token)
            if entry is None or entry.client_id != client_id or entry.expires_at <= now:
                raise InvalidGrant("refresh token is invalid or expired")
            if entry.used_at is not None:
                return self._replay_locked(entry, now)
            pair = self._issue_locked(client_id, entry.subject, entry.scopes)
            if self.single_use_refresh:
                entry.used_at = now
                entry.successor = pair
            return pair

    def _replay_locked(self, entry: _Refresh, now: datetime) -> TokenPair:
        grace = self.reuse_grace_seconds
        if grace is None or entry.used_at is None or entry.successor is None:
            raise InvalidGrant("refresh token has already been used")
        if now - entry.used_at > timedelta(seconds=grace):
            raise InvalidGrant("refresh token has already been used")
        return entry.successor

    def issue(
        self, client_id: str, subject: dict, scopes: tuple[str, ...] | list[str]
    ) -> TokenPair:
        with self._lock:
            return self._issue_locked(client_id, dict(subject), tuple(scopes))

    def _issue_locked(self, client_id: str, subject: dict, scopes: tuple[str, ...]) -> TokenPair:
        now = self.clock.now()
        access_expires = now + timedelta(seconds=self.access_ttl)
        access = self.access_token_factory(client_id, subject, scopes, access_expires)
        refresh = secrets.token_urlsafe(32)
        refresh_expires = now + timedelta(seconds=self.refresh_ttl)
        self._access[access] = Grant(client_id, subject, scopes, access_expires)
        self._refresh[refresh] = _Refresh(client_id, subject, scopes, refresh_expires, access)
        return TokenPair(access, refresh, self.access_ttl, refresh_expires)

    def check_access(self, access_token: str) -> Grant:
        grant = self._access.get(access_token)
        if grant is None:
            raise TokenInvalid("access token is not known")
        if grant.expires_at <= self.clock.now():
            raise TokenExpired("access token has expired")
        return grant

    def revoke(self, token: str) -> None:
        with self._lock:
            self._access.pop(token, None)
            entry = self._refresh.pop(token, None)
            if entry is not None:
                self._access.pop(entry.access_token, None)
