"""The qbo-writer service."""
