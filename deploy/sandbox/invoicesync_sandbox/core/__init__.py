"""Mechanism shared by the three provider stand-ins: clock, tokens, limits, faults, hooks."""
