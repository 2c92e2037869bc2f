"""What an access log may say about a request target: the Keap hook token in the path and
OAuth codes, states and tokens in the query are secrets, so they are replaced."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"
SECRET_PARAMETERS = frozenset(
    {"code", "state", "token", "access_token", "refresh_token", "id_token", "client_secret"}
)
# The Keap hook URL is /hooks/keap/<token>: the token alone authenticates the sender.
_HOOK_TOKEN = re.compile(r"(/hooks/keap/)[^/?#\s]+")


def redacted_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(name, REDACTED if name.lower() in SECRET_PARAMETERS else value) for name, value in pairs],
        safe="[]",
    )


def redacted_path(path: str) -> str:
    return _HOOK_TOKEN.sub(rf"\g<1>{REDACTED}", path)


def redacted_target(target: str) -> str:
    """A path with its query (a request line's middle, a Referer's path), secrets replaced."""
    path, separator, query = target.partition("?")
    return redacted_path(path) + (separator + redacted_query(query) if separator else "")


def redacted_request_line(line: str) -> str:
    """`GET /hooks/keap/<token>?code=... HTTP/1.1` with the secrets replaced."""
    method, _, rest = line.partition(" ")
    target, _, version = rest.rpartition(" ")
    if not target:
        return redacted_target(line)
    return f"{method} {redacted_target(target)} {version}"
