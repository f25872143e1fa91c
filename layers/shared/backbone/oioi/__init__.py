"""OIOI v4 protocol: result codes, message models, identifiers."""
