"""Broker adapters: one interface, several implementations (SPEC §2)."""
