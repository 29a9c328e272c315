"""`[daemon] record_events` is checked with the config: a file the daemon can append events to,
never a folder, a missing folder, or a file holding something else (the config, the database)."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from risk_manager.config import ConfigError
from risk_manager.config.validate import validate_text
from tests.daemon_process import MANUAL_CONFIG

GOOD = MANUAL_CONFIG.format(profile="max_contracts.limit = 2")
LINE = '{"type":"quote","ts":"2026-03-02T15:30:00+00:00","symbol":"MNQ","last":"21000.00"}\n'


def _refusal(path: Path | str) -> str:
    text = GOOD.replace("port = 0", f"port = 0\nrecord_events = {str(path)!r}")
    with pytest.raises(ConfigError) as caught:
        validate_text(text, "test.toml")
    (problem,) = caught.value.problems
    assert problem.startswith("daemon.record_events: "), problem
    return problem


def _accepts(path: Path) -> None:
    text = GOOD.replace("port = 0", f"port = 0\nrecord_events = {str(path)!r}")
    assert validate_text(text, "test.toml").daemon.record_events == path


def test_a_folder_a_missing_folder_or_a_file_as_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert "is a folder" in _refusal(tmp_path)
    assert f"the folder {tmp_path / 'nope'} does not exist" in _refusal(tmp_path / "nope" / "a")
    assert "does not exist" in _refusal(tmp_path / "file" / "day.jsonl")


def test_a_file_holding_something_else_is_refused_and_left_alone(tmp_path: Path) -> None:
    config = tmp_path / "risk_manager.toml"
    config.write_text(GOOD)
    database = tmp_path / "state.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE t (x)")
    before = database.read_bytes()

    for path in (config, database, Path(sys.executable)):
        assert "is not an event recording" in _refusal(path)
    assert config.read_text() == GOOD
    assert database.read_bytes() == before


def test_a_new_file_an_empty_one_or_a_recording_is_accepted(tmp_path: Path) -> None:
    _accepts(tmp_path / "day.jsonl")
    assert not (tmp_path / "day.jsonl").exists()  # only probed: created at the first event
    (tmp_path / "empty.jsonl").write_text("")
    _accepts(tmp_path / "empty.jsonl")
    (tmp_path / "yesterday.jsonl").write_text(LINE)
    _accepts(tmp_path / "yesterday.jsonl")
    assert (tmp_path / "yesterday.jsonl").read_text() == LINE


@pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux's")
def test_a_file_that_cannot_be_written_is_refused() -> None:
    assert "cannot be written" in _refusal(f"/proc/{os.getpid()}/day.jsonl")
