"""Tests of the simulated broker: paper exchange, market and adapter."""
