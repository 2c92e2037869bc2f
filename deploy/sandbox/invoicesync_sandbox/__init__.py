"""Strict local stand-ins for the Keap, Xero and QuickBooks Online APIs (demo and tests only)."""
