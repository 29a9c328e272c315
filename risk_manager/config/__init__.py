"""Typed configuration: pydantic models (frozen, unknown keys refused) loaded from TOML."""

from risk_manager.config.loader import ConfigError, load_config, parse_config
from risk_manager.config.models import Config

__all__ = ["Config", "ConfigError", "load_config", "parse_config"]
