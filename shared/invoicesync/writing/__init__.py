"""The destination-agnostic writer flow both ledger writers (Xero, QBO) run."""
