"""The admin service: the admin HTTP API, the web console, the operator CLI and the
activity-log consumer that feeds them."""
