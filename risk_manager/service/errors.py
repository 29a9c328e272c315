"""Errors of daemon control, named by what the caller should do about them."""

from __future__ import annotations


class ControlError(Exception):
    """Starting, stopping or querying the daemon failed; the message is one line for humans."""


class NotRunningError(ControlError):
    """There is no daemon to stop or query."""


class NotInstalledError(ControlError):
    """The Windows service is not registered."""


class AccessDeniedError(ControlError):
    """The caller lacks the rights (by design for the trader account)."""


class ControlTimeoutError(ControlError):
    """The daemon did not become ready, or did not exit, in time."""


class StartFailedError(ControlError):
    """The daemon process exited during startup."""


class ApiUnavailableError(ControlError):
    """The daemon runs and enforces, but its API could not take its port (it keeps retrying)."""
