"""Risk Manager Daemon: real-time risk rules for futures trading accounts."""

__version__ = "0.1.0"
