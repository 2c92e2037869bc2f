"""Console sign-ins kept server-side, so signing out ends a session everywhere: the signed
cookie names a session id, and a cookie whose id is gone (signed out, expired) is no one's."""

from __future__ import annotations

import secrets

import redis

from invoicesync.stores.redis_connection import reply_text

# Idle this long, a sign-in ends; every page view starts the count again.
SESSION_IDLE_SECONDS = 12 * 3600


def _session_key(session_id: str) -> str:
    return f"invoicesync:console-session:{session_id}"


class ConsoleSessions:
    def __init__(self, client: redis.Redis, *, idle_seconds: int = SESSION_IDLE_SECONDS) -> None:
        self._redis = client
        self._idle = idle_seconds

    def start(self, key_id: str) -> str:
        session_id = secrets.token_urlsafe(32)
        self._redis.set(_session_key(session_id), key_id, ex=self._idle)
        return session_id

    def key_id(self, session_id: str) -> str | None:
        """The API key id signed in under `session_id`, or None once it ended."""
        if not session_id or len(session_id) > 128:
            return None
        raw = self._redis.getex(_session_key(session_id), ex=self._idle)
        return None if raw is None else reply_text(raw)

    def end(self, session_id: str) -> None:
        if session_id:
            self._redis.delete(_session_key(session_id))
