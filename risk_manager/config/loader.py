"""Read TOML (or JSON) into a Config, turning every problem into file + key + reason."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from risk_manager.config.broker import registered_kinds
from risk_manager.config.models import Config, config_model
from risk_manager.config.suggest import did_you_mean


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists each as "key: reason"."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))

    def render(self) -> str:
        """A multi-line message for a terminal."""
        lines = [f"invalid configuration in {self.source}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


def _key(location: tuple[int | str, ...]) -> str:
    # "[key]" marks a problem with a dict key itself: the key before it already names it.
    return ".".join(str(part) for part in location if part != "[key]") or "(top level)"


def _untagged(location: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # A tagged union puts the tag into the location (broker.simulated.simulated.seed); the
    # reader wrote broker.simulated.seed.
    kinds = registered_kinds()
    if len(kinds) > 1 and location[:1] == ("broker",) and location[1:2] and location[1] in kinds:
        return location[:1] + location[2:]
    return location


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        location = _untagged(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key" + did_you_mean(config_model(), item["loc"])
        problems.append(f"{_key(location)}: {message}")
    return problems


def parse_config(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a decoded document."""
    try:
        return config_model().model_validate(data)
    except ValidationError as error:
        raise ConfigError(source, _problems(error)) from None


def decode(text: str, source: str, *, as_json: bool = False) -> dict[str, Any]:
    """Decode TOML (default) or JSON text into a dict, with a located syntax error."""
    try:
        if as_json:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ConfigError(source, ["(top level): expected a JSON object"])
            return data
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [f"TOML syntax: {error}"]) from None
    except json.JSONDecodeError as error:
        raise ConfigError(source, [f"JSON syntax: {error}"]) from None


def read_text(path: Path) -> str:
    """The file's text; it must be UTF-8 (TOML requires it)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(str(path), [f"cannot read file: {error.strerror}"]) from None
    return text_of(raw, str(path))


def text_of(raw: bytes, source: str) -> str:
    """UTF-8 bytes as text (a UTF-8 byte-order mark is tolerated); anything else refused."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        hint = "UTF-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8"
        raise ConfigError(
            source, [f"(file): {hint} text (bad byte at offset {error.start}); save it as UTF-8"]
        ) from None
