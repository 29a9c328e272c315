"""The broker registry: kinds validate as a tagged union, plugins register new kinds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from risk_manager.brokers import registry
from risk_manager.brokers.simulated.config import SimulatedSettings
from risk_manager.clock import WallClock
from risk_manager.config import ConfigError, parse_config
from risk_manager.config import broker as broker_config
from risk_manager.config.broker import BrokerSettings
from risk_manager.paths import HomePaths


class ExtraSettings(BrokerSettings):
    kind: Literal["extra"] = "extra"
    url: str = "http://127.0.0.1:1"


@pytest.fixture
def extra_kind() -> Iterator[object]:
    """Register a second kind for one test, then restore the registry."""
    settings = dict(broker_config._SETTINGS)
    factories = dict(registry._FACTORIES)
    sentinel = object()
    registry.register("extra", ExtraSettings, lambda _settings, _context: sentinel)  # type: ignore[arg-type,return-value]
    yield sentinel
    broker_config._SETTINGS.clear()
    broker_config._SETTINGS.update(settings)
    registry._FACTORIES.clear()
    registry._FACTORIES.update(factories)


def test_missing_broker_section_is_the_simulator() -> None:
    assert isinstance(parse_config({}).broker, SimulatedSettings)


@pytest.mark.usefixtures("extra_kind")
def test_kind_selects_the_settings_model() -> None:
    config = parse_config({"broker": {"kind": "extra", "url": "http://127.0.0.1:2"}})
    assert config.broker == ExtraSettings(url="http://127.0.0.1:2")
    simulated = parse_config({"broker": {"simulated": {"market": "manual"}}}).broker
    assert isinstance(simulated, SimulatedSettings)
    assert simulated.simulated.market == "manual"


@pytest.mark.usefixtures("extra_kind")
def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"broker": {"kind": "nope"}}, "t.toml")
    known = "'projectx', 'replay', 'simulated', 'extra'"
    assert caught.value.problems == [f"broker: unknown broker kind (known: {known})"]


@pytest.mark.usefixtures("extra_kind")
def test_errors_are_located_without_the_union_tag() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"broker": {"simulated": {"seed": "x"}}})
    assert caught.value.problems[0].startswith("broker.simulated.seed: ")
    with pytest.raises(ConfigError) as caught:
        parse_config({"broker": {"kind": "extra", "simulated": {}}})
    assert caught.value.problems == ["broker.simulated: unknown key"]


def test_build_calls_the_kinds_factory(extra_kind: object, tmp_path: Path) -> None:
    context = registry.BrokerContext((("A", "A"),), HomePaths(tmp_path), WallClock())
    assert registry.build(ExtraSettings(), context) is extra_kind


def test_settings_kind_must_default_to_its_name() -> None:
    with pytest.raises(ValueError, match="must default to 'other'"):
        registry.register("other", ExtraSettings, lambda _s, _c: None)  # type: ignore[arg-type,return-value]


def test_plugins_named_in_the_environment_are_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    imported: list[str] = []
    monkeypatch.setattr(registry.importlib, "import_module", lambda name: imported.append(name))
    names = registry.load_plugins({registry.PLUGINS_ENV: " rm_plugin_probe , ,other.mod"})
    assert names == imported == ["rm_plugin_probe", "other.mod"]
    assert registry.load_plugins({}) == []
