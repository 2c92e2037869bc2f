"""Strict local stand-in for the Xero identity and accounting APIs."""
