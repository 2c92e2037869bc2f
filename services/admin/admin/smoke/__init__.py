"""Checks of what the provider references leave unverified, run against one connected tenant."""
