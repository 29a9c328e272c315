"""The recording format: every event survives a write and a read; bad lines are located."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.events import (
    AccountUpdate,
    ConnectionChange,
    Event,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)
from risk_manager.domain.recording import RecordingError, event_line, parse_line, read_recording
from risk_manager.event_tap import EventRecorder

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)

instants = st.integers(0, 86_400 * 400).map(lambda s: T0 + timedelta(seconds=s))
prices = st.decimals(Decimal("0.01"), Decimal("100000"), places=2)
maybe_prices = st.none() | prices
names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
sides = st.sampled_from(Side)

quotes = st.builds(Quote, names, instants, maybe_prices, maybe_prices, maybe_prices)
fills = st.builds(Fill, names, names, instants, names, sides, st.integers(1, 500), prices,
                  prices, st.text(max_size=10), st.booleans())  # fmt: skip
orders = st.builds(
    lambda event_id, *fields: OrderUpdate(event_id, Order(*fields)),
    names, names, names, names, sides, st.sampled_from(OrderType), st.integers(1, 500),
    st.sampled_from(OrderStatus), instants, maybe_prices, maybe_prices,
)  # fmt: skip
accounts = st.builds(AccountUpdate, names, names, instants, prices, st.booleans())
connections = st.builds(ConnectionChange, instants, st.booleans(), st.text(max_size=20))


@given(st.one_of(quotes, fills, orders, accounts, connections))
def test_every_event_reads_back_as_written(event: Event) -> None:
    line = event_line(event)
    assert "\n" not in line
    assert parse_line(line) == event


def test_times_with_an_offset_are_read_as_utc() -> None:
    chicago = datetime(2026, 3, 2, 8, 30, tzinfo=timezone(timedelta(hours=-6)))
    event = parse_line(f'{{"type":"connection","ts":"{chicago.isoformat()}",'
                       '"connected":false}')  # fmt: skip
    assert event.ts == T0
    assert event.ts.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON (Expecting property name enclosed in double quotes at column 2)"),
        ("[1, 2]", "expected a JSON object"),
        ('{"type":"trade","ts":"2026-03-02T14:30:00Z"}',
         "type: must be one of quote, fill, order, account, connection"),
        ('{"type":"quote","ts":"2026-03-02T14:30:00","symbol":"MNQ"}',
         "ts: Input should have timezone info"),
        ('{"type":"quote","ts":"2026-03-02T14:30:00Z","symbol":"MNQ","size":1}',
         "size: unknown key"),
        ('{"type":"fill","ts":"2026-03-02T14:30:00Z","id":"f","account":"A","symbol":"MNQ",'
         '"side":"long","quantity":1,"price":1}', "side: Input should be 'buy' or 'sell'"),
        ('{"type":"fill","ts":"2026-03-02T14:30:00Z","id":"f","account":"A","symbol":"MNQ",'
         '"side":"buy","quantity":0,"price":1}', "quantity: Input should be greater than 0"),
        ('{"type":"account","ts":"2026-03-02T14:30:00Z","id":"a","account":"A",'
         '"balance":"NaN","can_trade":true}', "balance: Input should be a finite number"),
    ],
)  # fmt: skip
def test_a_bad_line_says_what_is_wrong(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(problem)}$"):
        parse_line(line)


def _quote(seconds: int, last: str) -> str:
    ts = (T0 + timedelta(seconds=seconds)).isoformat()
    return f'{{"type":"quote","ts":"{ts}","symbol":"MNQ","last":"{last}"}}'


def test_events_play_in_time_order_and_ties_keep_file_order(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    # Two feeds interleaved slightly out of order, as a tap on two sockets can write them.
    path.write_text("\n".join([_quote(5, "3"), _quote(1, "1"), "", _quote(5, "4"),
                               _quote(2, "2")]) + "\n")  # fmt: skip
    events = read_recording(path)
    assert [(e.ts - T0).seconds for e in events] == [1, 2, 5, 5]
    assert [e.last for e in events if isinstance(e, Quote)] == [1, 2, 3, 4]


def test_a_bad_line_is_reported_with_the_file_and_its_number(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    path.write_text(_quote(1, "1") + "\n\n" + _quote(2, "x") + "\n")
    with pytest.raises(RecordingError) as caught:
        read_recording(path)
    assert str(caught.value) == f"{path} line 3: last: Input should be a valid decimal"


def test_a_check_refuses_events_its_reader_cannot_use(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    path.write_text(_quote(1, "1") + "\n" + _quote(2, "2") + "\n")

    def no_second(event: Event) -> None:
        if event.ts > T0 + timedelta(seconds=1):
            raise ValueError("too late")

    with pytest.raises(RecordingError, match=r"day\.jsonl line 2: too late$"):
        read_recording(path, no_second)


def test_a_missing_or_binary_recording_is_named(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"nope\.jsonl: cannot read the recording: "):
        read_recording(tmp_path / "nope.jsonl")
    binary = tmp_path / "day.jsonl"
    binary.write_bytes(b"\xff\xfe{}\n")
    with pytest.raises(RecordingError, match=r"day\.jsonl: not UTF-8 text"):
        read_recording(binary)


def test_the_recorder_appends_what_the_sink_receives_and_survives_a_failed_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tap.jsonl"
    path.write_text(event_line(ConnectionChange(T0, True)) + "\n")  # a previous run's line
    received: list[Event] = []
    recorder = EventRecorder(path)
    sink = recorder.tap(received.append)
    first, second = Quote("MNQ", T0, last=Decimal("1")), Quote("MNQ", T0, last=Decimal("2"))
    sink(first)
    real, recorder._file = recorder._file, _Broken()  # type: ignore[assignment]  # disk full
    sink(Quote("MNQ", T0, last=Decimal("9")))
    recorder._file = real  # space again
    sink(second)
    recorder.close()

    assert len(received) == 3  # every event reached the pipeline, recorded or not
    assert recorder.written == 2
    assert read_recording(path) == [ConnectionChange(T0, True), first, second]


def test_a_recording_that_cannot_be_opened_is_a_failed_write_not_a_failed_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "not-yet" / "tap.jsonl"  # e.g. a folder removed, or a read-only disk
    received: list[Event] = []
    recorder = EventRecorder(path)
    sink = recorder.tap(received.append)
    lost, kept = Quote("MNQ", T0, last=Decimal("1")), Quote("MNQ", T0, last=Decimal("2"))
    sink(lost)
    path.parent.mkdir()
    sink(kept)
    recorder.close()
    sink(Quote("MNQ", T0, last=Decimal("3")))  # after close: handed on, not recorded

    assert received[:2] == [lost, kept]
    assert len(received) == 3
    assert recorder.written == 1
    assert read_recording(path) == [kept]


class _Broken:
    def write(self, _text: str) -> int:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        return None
