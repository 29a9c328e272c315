"""Settings of the replay broker (`[broker] kind = "replay"` and `[broker.replay]`), and the
recording they name, read once per version of the file."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from risk_manager.config.broker import BrokerSettings
from risk_manager.domain.contracts import known_root
from risk_manager.domain.events import Event, Fill, OrderUpdate
from risk_manager.domain.recording import RecordingError, read_recording
from risk_manager.domain.strict import Dollars


class ReplayConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    recording: Path
    # Each configured account's balance before the recording's first event (a recorded account
    # line before the account's first fill replaces it).
    starting_balance: Dollars = Field(Decimal("50000"), gt=0)

    @field_validator("recording")
    @classmethod
    def _playable(cls, path: Path) -> Path:
        if not path.is_absolute():
            # Relative to what? The service's working directory is not the config's.
            raise ValueError(f"must be an absolute path, got {str(path)!r}")
        load_recording(path)
        return path


class ReplaySettings(BrokerSettings):
    """`[broker] kind = "replay"` with its `[broker.replay]` table."""

    kind: Literal["replay"] = "replay"
    replay: ReplayConfig


def load_recording(path: Path) -> tuple[Event, ...]:
    """The recording's events in time order; RecordingError naming the file (and line)."""
    try:
        stat = path.stat()
    except OSError as error:
        raise RecordingError(f"{path}: cannot read the recording: {error.strerror}") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)  # validating a config and building the broker read the same file
def _load(path: Path, _mtime_ns: int, _size: int) -> tuple[Event, ...]:
    events = read_recording(path, _priceable)
    if not events:
        raise RecordingError(f"{path}: the recording has no events")
    return tuple(events)


def _priceable(event: Event) -> None:
    """The replay prices fills and orders with the built-in contract table."""
    if isinstance(event, Fill):
        known_root(event.symbol)
    elif isinstance(event, OrderUpdate):
        known_root(event.order.symbol)
