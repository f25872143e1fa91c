"""Charging keys: the one source of truth for UIDs, state and validity."""
