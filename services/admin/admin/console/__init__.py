"""The web console: the admin API's operations as server-rendered pages for bookkeepers."""

from admin.console import (  # noqa: F401 - importing a page module registers its routes
    activity_pages,
    connection_pages,
    reconciliation_pages,
    settings_pages,
    sign_in_pages,
    summary_pages,
    sync_pages,
)
from admin.console.blueprint import console_routes

__all__ = ["console_routes"]
