"""Command-line clients: risk-admin and risk-trader (HTTP only, never daemon internals)."""
