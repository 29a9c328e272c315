"""The one validator: start-up, reload, replace and `risk-admin config validate` all use it.

A config passes only if everything start-up builds from it can be built: the schema
(strict, finite, bounded numbers; known symbol roots everywhere), the log sinks (rotation
and retention), every profile's rules, and an explicit confirmation when it would enforce
nothing. So whatever reload accepts, the next start accepts too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from loguru import logger

from risk_manager.config.loader import ConfigError, decode, parse_config, read_text
from risk_manager.config.models import Config, LogConfig
from risk_manager.rules.registry import build_rules

ALLOW_EMPTY_HINT = "confirm with --allow-empty if enforcing nothing is intended"


def load_config(path: Path, *, allow_empty: bool = False) -> Config:
    """Read and validate a config file (UTF-8 TOML)."""
    return validate(decode(read_text(path), str(path)), str(path), allow_empty=allow_empty)


def validate_text(text: str, source: str, *, as_json: bool = False,
                  allow_empty: bool = False) -> Config:  # fmt: skip
    """Validate TOML text (or a JSON object's text)."""
    return validate(decode(text, source, as_json=as_json), source, allow_empty=allow_empty)


def validate(document: dict[str, Any], source: str, *, allow_empty: bool = False) -> Config:
    """The config a decoded document describes, or ConfigError listing every problem."""
    config = parse_config(document, source)
    problems = _log_problems(config.daemon.log) + _rule_problems(config)
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


def _rule_problems(config: Config) -> list[str]:
    problems = []
    for name, profile in config.profiles.items():
        try:
            build_rules(profile)
        except (ValueError, TypeError) as error:
            problems.append(f"profiles.{name}: rules cannot be built: {error}")
    return problems
