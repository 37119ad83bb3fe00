"""Operator scripts that drive a running ReadyCheck (never deployed)."""
