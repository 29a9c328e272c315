"""TOML text for a JSON document (a config sent as JSON is stored as TOML like any other)."""

from __future__ import annotations

import json
import math
from typing import Any

from risk_manager.config.loader import ConfigError


def _toml_string(text: str, key: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError("request body", [f"{key}: text is not valid Unicode"]) from None
    # JSON escapes quotes, backslashes and C0 controls as TOML does; DEL TOML wants escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str, where: str) -> str:
    if key and key.isascii() and all(c.isalnum() or c in "-_" for c in key):
        return key
    return _toml_string(key, where)


def _toml_value(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError("request body", [f"{key}: {value} is not a finite number"])
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value, key)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, f"{key}.{i}") for i, v in enumerate(value)) + "]"
    if isinstance(value, dict):
        items = (f"{_toml_key(k, key)} = {_toml_value(v, f'{key}.{k}')}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }" if value else "{}"
    if value is None:
        raise ConfigError("request body", [f"{key}: null has no TOML form; leave the key out"])
    raise ConfigError("request body", [f"{key}: unsupported value {value!r}"])


def to_toml(document: dict[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """A TOML text for a JSON object (tables for nested objects, inline values otherwise)."""
    scalars, tables = [], []
    for key, value in document.items():
        dotted = ".".join((*prefix, key))
        if isinstance(value, dict) and value:
            tables.append((key, value))
        else:
            scalars.append(f"{_toml_key(key, dotted)} = {_toml_value(value, dotted)}")
    parts = []
    if scalars or (prefix and not tables):
        header = f"[{'.'.join(_toml_key(p, p) for p in prefix)}]\n" if prefix else ""
        parts.append(header + "".join(line + "\n" for line in scalars))
    parts += [to_toml(value, (*prefix, key)) for key, value in tables]
    return "\n".join(parts)
