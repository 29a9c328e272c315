"""Durable state: the SQLite store (one writer) and the in-memory account ledger."""
