"""Lockouts, action planning and the executor that acts at the broker."""
