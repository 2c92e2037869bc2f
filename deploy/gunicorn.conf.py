"""gunicorn settings for the HTTP services. Kafka and Redis clients are created lazily inside
each worker (after the fork), never in the master."""

import os
import re
from urllib.parse import parse_qsl, urlencode

from gunicorn import glogging

workers = int(os.environ.get("INVOICESYNC_HTTP_WORKERS", "2"))
threads = int(os.environ.get("INVOICESYNC_HTTP_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
# Keap deactivates a hook subscriber that takes 30 s; answer or fail well before that.
keepalive = 5
# gunicorn's control socket has one default path per user: several of our HTTP services on one
# machine would fight over it, and nothing of ours uses it.
control_socket_disable = True

# What the access log may say about a request target: the Keap hook token in the path and
# OAuth codes, states and tokens in the query are secrets, so they are replaced.
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


class RedactingLogger(glogging.Logger):
    """The access log without Keap hook tokens or OAuth codes and states: they authenticate
    whoever presents them, and logs travel further than secrets should."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = redacted_request_line(atoms["r"])
        atoms["U"] = redacted_path(atoms["U"])
        atoms["q"] = redacted_query(atoms["q"])
        atoms["f"] = redacted_target(atoms["f"])
        return atoms


logger_class = RedactingLogger
