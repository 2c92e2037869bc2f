"""The reverse-sync service."""
