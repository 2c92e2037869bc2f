"""The xero-writer service."""
