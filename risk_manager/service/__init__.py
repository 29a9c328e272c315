"""Supervision of the daemon: the NSSM service plan, start/stop/status, the loop watchdog."""
