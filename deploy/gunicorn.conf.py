"""gunicorn settings for the HTTP services. Kafka and Redis clients are created lazily inside
each worker (after the fork), never in the master."""

import os

from gunicorn import glogging

from invoicesync.http import access_log

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


class RedactingLogger(glogging.Logger):
    """The access log without Keap hook tokens or OAuth codes and states: they authenticate
    whoever presents them, and logs travel further than secrets should."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = access_log.redacted_request_line(atoms["r"])
        atoms["U"] = access_log.redacted_path(atoms["U"])
        atoms["q"] = access_log.redacted_query(atoms["q"])
        atoms["f"] = access_log.redacted_target(atoms["f"])
        return atoms


logger_class = RedactingLogger
