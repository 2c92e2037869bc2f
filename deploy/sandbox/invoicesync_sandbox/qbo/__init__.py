"""Local stand-in for the QuickBooks Online Accounting API, its OAuth server and webhooks."""
