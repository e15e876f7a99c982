"""The conformance suite: one contract, every source and every sink (see registry.py)."""
