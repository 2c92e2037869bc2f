"""Encryption at rest for OAuth tokens: Fernet keys, the first encrypts, every key decrypts."""

from __future__ import annotations

import logging
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from invoicesync.errors import InvalidInput
from invoicesync.settings import Settings, SettingsError

log = logging.getLogger(__name__)

# Decrypted tokens kept per process: a writer loads its tenant's tokens for every call, and a
# Fernet token (random IV, MAC) always decrypts to the same text, so one decryption serves all.
DECRYPTED_KEPT = 4096


def generate_key() -> str:
    """A fresh key for `INVOICESYNC_TOKEN_ENCRYPTION_KEY`."""
    return Fernet.generate_key().decode()


class TokenCipher:
    """`key` is one Fernet key or a comma-separated list; listing a new key first rotates."""

    def __init__(self, key: str) -> None:
        keys = [part.strip() for part in key.split(",") if part.strip()]
        if not keys:
            raise SettingsError("token_encryption_key: no key given")
        try:
            self._fernet = MultiFernet([Fernet(part.encode()) for part in keys])
        except ValueError as exc:
            raise SettingsError(
                "token_encryption_key: every key must be 32 url-safe base64-encoded bytes"
            ) from exc
        self._decrypted: dict[bytes, bytes] = {}
        self._decrypted_lock = threading.Lock()

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        kept = self._decrypted.get(ciphertext)
        if kept is not None:
            return kept
        try:
            plaintext = self._fernet.decrypt(ciphertext)
        except InvalidToken as exc:
            raise InvalidInput("stored token cannot be decrypted with the configured keys") from exc
        with self._decrypted_lock:
            if len(self._decrypted) >= DECRYPTED_KEPT:
                del self._decrypted[next(iter(self._decrypted))]
            self._decrypted[ciphertext] = plaintext
        return plaintext

    def __repr__(self) -> str:
        return "TokenCipher(<keys hidden>)"


def cipher_from_settings(settings: Settings, *, allow_ephemeral_key: bool = False) -> TokenCipher:
    """The cipher a service starts with. An empty key is refused at start, unless a developer
    explicitly accepts a throwaway key (tokens saved with it are unreadable after a restart)."""
    if settings.token_encryption_key.strip():
        return TokenCipher(settings.token_encryption_key)
    if not allow_ephemeral_key:
        raise SettingsError(
            "token_encryption_key is empty: set INVOICESYNC_TOKEN_ENCRYPTION_KEY "
            "(python -c 'from invoicesync.crypto import generate_key; print(generate_key())')"
        )
    log.warning("no token encryption key configured: using a throwaway key for this process")
    return TokenCipher(generate_key())
