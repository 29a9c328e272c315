"""`[broker]`: one settings model per broker kind, chosen by `kind` (a discriminated union).

The config package knows no broker: each adapter registers its settings model here (through
`risk_manager.brokers.registry.register`), and `broker_union()` builds the union from whatever
is registered. A model's `kind` field must be `Literal["<its kind>"]` with that default.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Tag

DEFAULT_KIND = "simulated"  # `[broker]` may be omitted: the embedded paper exchange


class BrokerSettings(BaseModel):
    """Base of every broker's settings model (`[broker]` plus its own sub-table)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str


_SETTINGS: dict[str, type[BrokerSettings]] = {}


def register_settings(kind: str, model: type[BrokerSettings]) -> None:
    """Make `[broker] kind = "<kind>"` validate with `model`."""
    default = model.model_fields["kind"].default
    if default != kind:
        raise ValueError(f"{model.__name__}.kind must default to {kind!r}, not {default!r}")
    _SETTINGS[kind] = model


def registered_kinds() -> tuple[str, ...]:
    """The broker kinds a config may name, in registration order."""
    return tuple(_SETTINGS)


def registered_settings() -> tuple[tuple[str, type[BrokerSettings]], ...]:
    """(kind, settings model) pairs, in registration order."""
    return tuple(_SETTINGS.items())


def _tag(value: Any) -> str:
    if isinstance(value, BrokerSettings):
        return value.kind
    if isinstance(value, dict):
        kind = value.get("kind", DEFAULT_KIND)
        return kind if isinstance(kind, str) else repr(kind)
    return "(not a table)"


def broker_union() -> Any:
    """The annotated union of every registered settings model, tagged by `kind`."""
    if not _SETTINGS:
        raise RuntimeError("no broker kind is registered: import risk_manager.brokers first")
    if len(_SETTINGS) == 1:  # a union needs two members; one kind validates as itself
        return next(iter(_SETTINGS.values()))
    members = tuple(Annotated[model, Tag(kind)] for kind, model in _SETTINGS.items())
    known = ", ".join(repr(kind) for kind in _SETTINGS)
    return Annotated[
        Union[members],  # noqa: UP007 - built from a runtime tuple; `|` cannot splat one
        Discriminator(
            _tag,
            custom_error_type="unknown_broker_kind",
            custom_error_message=f"unknown broker kind (known: {known})",
        ),
    ]


def default_settings() -> BrokerSettings:
    """The settings used when `[broker]` is absent."""
    return broker_settings_model(DEFAULT_KIND).model_validate({})


def broker_settings_model(kind: str) -> type[BrokerSettings]:
    """The registered model of one kind; KeyError if none."""
    return _SETTINGS[kind]
