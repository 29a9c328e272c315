"""The one validator: start-up, reload, replace and `risk-admin config validate` all use it.

A config passes only if everything start-up builds from it can be built: the schema
(strict, finite, bounded numbers; known symbol roots everywhere), the log sinks (rotation
and retention), every profile's rules, an event recording that can be appended to, and an
explicit confirmation when it would enforce nothing. So whatever reload accepts, the next
start accepts too.
"""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path
from typing import Any

from loguru import logger

from risk_manager.config.loader import ConfigError, decode, parse_config, read_text
from risk_manager.config.models import Config, LogConfig
from risk_manager.domain.recording import parse_line
from risk_manager.rules.registry import build_rules

ALLOW_EMPTY_HINT = "confirm with --allow-empty if enforcing nothing is intended"


def load_config(path: Path, *, allow_empty: bool = False) -> Config:
    """Read and validate a config file (UTF-8 TOML)."""
    return validate(decode(read_text(path), str(path)), str(path), allow_empty=allow_empty)


def validate_text(text: str, source: str, *, allow_empty: bool = False) -> Config:
    """Validate TOML text."""
    return validate(decode(text, source), source, allow_empty=allow_empty)


def validate(document: dict[str, Any], source: str, *, allow_empty: bool = False) -> Config:
    """The config a decoded document describes, or ConfigError listing every problem."""
    config = parse_config(document, source)
    problems = _log_problems(config.daemon.log) + _rule_problems(config)
    if config.daemon.record_events is not None:
        problems += _recording_problems(config.daemon.record_events)
    if not allow_empty and (reason := emptiness(config)):
        problems.append(f"{reason}; {ALLOW_EMPTY_HINT}")
    if problems:
        raise ConfigError(source, problems)
    return config


def emptiness(config: Config) -> str | None:
    """Why this config would enforce nothing at all, or None when it enforces something."""
    if not config.accounts:
        return "accounts: no account is configured, so nothing would be enforced"
    if not any(config.profile_for(account_id).enabled() for account_id in config.accounts):
        return "profiles: no account has an enabled rule, so nothing would be enforced"
    return None


def _log_problems(settings: LogConfig) -> list[str]:
    """Build the file sinks start-up builds (never opened, never written)."""
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        for key in ("rotation", "retention"):
            try:
                sink = logger.add(
                    Path(scratch) / "check.log", delay=True, filter=lambda _: False,
                    **{key: getattr(settings, key)},
                )  # fmt: skip
            except (ValueError, TypeError) as error:
                problems.append(f"daemon.log.{key}: {error}")
            else:
                logger.remove(sink)
    return problems


# A disk that is full or read-only now may take writes later: the recorder skips and retries.
_PASSING = (errno.ENOSPC, errno.EROFS, errno.EDQUOT)
_HEAD_BYTES = 65536  # a recording's line is a few hundred bytes


def _recording_problems(path: Path) -> list[str]:
    """`[daemon] record_events` must name a file the daemon can append events to, and never
    one holding something else: events appended to the config or the database would break
    the next start or the state."""
    key = "daemon.record_events"
    if path.is_dir():
        return [f"{key}: {path} is a folder; name a file in it"]
    if not path.parent.is_dir():
        return [f"{key}: the folder {path.parent} does not exist"]
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except FileNotFoundError:
        head = b""
    except OSError as error:
        return [f"{key}: {path}: cannot be read: {error.strerror}"]
    first = next((line for line in head.splitlines() if line.strip()), b"")
    if first:
        try:
            parse_line(first.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError included
            return [f"{key}: {path} exists and is not an event recording; name a new file"]
    existed = path.exists()
    try:
        path.open("ab").close()
    except OSError as error:
        if error.errno not in _PASSING:
            return [f"{key}: {path}: cannot be written: {error.strerror}"]
    if not existed:
        path.unlink(missing_ok=True)  # only a probe: the daemon creates it at the first event
    return []


def _rule_problems(config: Config) -> list[str]:
    problems = []
    for name, profile in config.profiles.items():
        try:
            build_rules(profile)
        except (ValueError, TypeError) as error:
            problems.append(f"profiles.{name}: rules cannot be built: {error}")
    return problems
