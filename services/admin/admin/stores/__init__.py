"""Redis stores only the admin service reads and writes: API keys, OAuth state, the activity log."""
