"""Typed configuration: pydantic models (frozen, unknown keys refused) loaded from TOML."""

from risk_manager.config.loader import ConfigError, parse_config
from risk_manager.config.models import Config
from risk_manager.config.validate import load_config, validate, validate_text

__all__ = ["Config", "ConfigError", "load_config", "parse_config", "validate", "validate_text"]
