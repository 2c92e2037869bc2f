"""Redis-backed state: OAuth connections, locks, rate limits, the id map."""
