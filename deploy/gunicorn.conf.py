"""gunicorn settings for the HTTP services. Kafka and Redis clients are created lazily inside
each worker (after the fork), never in the master."""

import os

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
