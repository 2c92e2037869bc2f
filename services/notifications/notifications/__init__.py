"""Notification emails: sync results queued per tenant, sent as a daily summary or exceptions."""
