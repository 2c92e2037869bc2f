"""Webhook signatures: base64 HMAC-SHA256 over the raw body, compared in constant time.

Xero signs with the app's webhook key (`x-xero-signature`), Intuit with the webhook verifier
token (`intuit-signature`); both over the exact bytes received, so check before parsing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

XERO_SIGNATURE_HEADER = "x-xero-signature"
INTUIT_SIGNATURE_HEADER = "intuit-signature"


def hmac_sha256_base64(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(key: str, body: bytes, signature: str | None) -> bool:
    """False for a missing signature or an unset key: an unconfigured secret accepts nothing."""
    if not key or not signature:
        return False
    expected = hmac_sha256_base64(key, body)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())
