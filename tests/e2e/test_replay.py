"""A recorded trading session replayed through the real daemon on recorded time.

The recording is built here from the contract facts (SPEC §3): MNQ is $0.50 a tick, $2 a
point, $0.37 a side; ES is $12.50 a tick (0.25), $1.40 a side. The trader loses $120 on MNQ,
breaching a $100 daily loss limit at 14:45:10, and keeps trading ES during the lockout.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.daemon_process import MANUAL_CONFIG, DaemonProcess, write_config
from tests.e2e.conftest import wait_for

ACCOUNT = "/api/v1/accounts/REC-1"
DAY = "2026-03-02"  # a Monday; Chicago is UTC-6 (CST), so the 17:00 reset is 23:00 UTC

CONFIG = """
[daemon]
port = 0
[broker]
kind = "replay"
[broker.replay]
recording = {recording}
[accounts.REC-1]
name = "Recorded day"
profile = "p"
[profiles.p]
daily_realized_loss.limit = 100
cooldown_after_loss.tiers = [{{loss = 50, minutes = 5}}]
"""


def at(clock: str) -> str:
    return f"{DAY}T{clock}+00:00"


def fill(clock: str, fill_id: str, symbol: str, side: str, price: str,
         account: str = "REC-1") -> dict[str, Any]:  # fmt: skip
    quantity, fee = (2, "0.74") if symbol == "MNQ" else (1, "1.40")
    return {"type": "fill", "ts": at(clock), "id": fill_id, "account": account,
            "symbol": symbol, "side": side, "quantity": quantity, "price": price, "fee": fee,
            "order_id": f"o-{fill_id}"}  # fmt: skip


def quote(clock: str, symbol: str, **prices: str) -> dict[str, Any]:
    return {"type": "quote", "ts": at(clock), "symbol": symbol, **prices}


SESSION = [
    quote("14:30:00", "MNQ", last="21000.00"),
    fill("14:30:05", "f1", "MNQ", "buy", "21000.00"),
    quote("14:45:00", "MNQ", last="20970.00"),
    # −30 points × $2 × 2 = −$120 gross, −$121.48 net: the $100 limit is breached here.
    fill("14:45:10", "f2", "MNQ", "sell", "20970.00"),
    quote("15:00:00", "ES", bid="6009.75", ask="6010.00"),
    # During the lockout: bought at the ask, flattened by the daemon at the recorded bid.
    fill("15:00:05", "f3", "ES", "buy", "6010.00"),
    quote("15:20:00", "ES", bid="6019.75", ask="6020.00"),
    # The trader sells what he thinks he holds: short 1, bought back by the daemon at the ask.
    fill("15:20:05", "f4", "ES", "sell", "6019.75"),
    quote("17:30:00", "MNQ", last="20980.00"),  # three hours of recorded session in all
]
# f1+f2: −120.00 − 4 × 0.37; f3 + flatten: −12.50 − 2 × 1.40; f4 + flatten: −12.50 − 2 × 1.40
REALIZED_GROSS = -145.00
FEES = 7.08
REALIZED = -152.08


def _write(tmp_path: Path, lines: list[dict[str, Any]], extra: str = "",
           more_config: str = "") -> Path:  # fmt: skip
    recording = tmp_path / "session.jsonl"
    recording.write_text("".join(json.dumps(line) + "\n" for line in lines) + extra)
    home = tmp_path / "home"
    config = home / "config" / "risk_manager.toml"
    config.parent.mkdir(parents=True)
    config.write_text(CONFIG.format(recording=json.dumps(str(recording))) + more_config)
    return home


def test_a_recorded_breach_replays_in_seconds_on_recorded_time(tmp_path: Path) -> None:
    daemon = DaemonProcess(_write(tmp_path, SESSION), allow_empty=False)
    try:
        started = time.monotonic()
        daemon.start()
        wait_for(lambda: "Replay of session.jsonl finished" in daemon.output(), timeout=120,
                 interval=0.05, what="the replay to finish")  # fmt: skip
        print(f"3 h of recorded session replayed in {time.monotonic() - started:.1f} s (wall)")

        status = daemon.get("/api/v1/status")
        assert (status["broker"], status["now"]) == ("replay", at("17:30:00"))
        [account] = status["accounts"]
        assert account["trading_state"] == "halted"

        pnl = daemon.get(f"{ACCOUNT}/pnl")
        assert (pnl["realized_gross"], pnl["fees"], pnl["realized"]) == (
            REALIZED_GROSS, FEES, REALIZED)  # fmt: skip
        assert pnl["fills"] == 6  # four recorded, two the daemon's
        assert daemon.get(f"{ACCOUNT}/positions")["positions"] == []

        lockouts = {x["rule"]: x for x in daemon.get(f"{ACCOUNT}/lockouts")["lockouts"]}
        assert list(lockouts) == ["daily_realized_loss"]
        daily = lockouts["daily_realized_loss"]
        assert (daily["started_at"], daily["until"]) == (at("14:45:10"), at("23:00:00"))
        assert daily["seconds_remaining"] == 5.5 * 3600  # from the last recorded instant

        records = daemon.get(f"{ACCOUNT}/enforcement")["records"]
        timeline = [(r["created_at"], r["completed_at"], r["rules"], r["status"])
                    for r in reversed(records)]  # fmt: skip
        assert timeline == [
            (at("14:45:10"), at("14:45:10"), ["daily_realized_loss", "cooldown_after_loss"],
             "done"),
            (at("15:00:05"), at("15:00:05"), ["lockout"], "done"),
            (at("15:20:05"), at("15:20:05"), ["lockout"], "done"),
        ]  # fmt: skip
        closes = [step["symbol"] for r in records[:2] for step in r["steps"]
                  if step["kind"] == "close"]  # fmt: skip
        assert closes == ["ES", "ES"]
    finally:
        daemon.ensure_stopped()

    # The cooldown ended on the rule tick at its recorded second, not on the wall clock.
    with closing(sqlite3.connect(daemon.home / "state" / "risk_manager.sqlite3")) as db:
        ended = db.execute(
            "SELECT started_at, until, ended_at FROM lockouts WHERE rule = 'cooldown_after_loss'"
        ).fetchall()
    assert ended == [(at("14:45:10"), at("14:50:10"), at("14:50:10"))]


SESSION_HOURS = """
[accounts.REC-2]
profile = "hours"
[profiles.hours]
session_block_outside.windows = [{start = "08:30", end = "15:00"}]
"""


def test_session_end_and_daily_reset_run_at_their_recorded_instants(tmp_path: Path) -> None:
    # REC-1 breaches (as above) and trades again the next trading day (17:00 Chicago = 23:00
    # UTC); REC-2 holds a position past its session's end (15:00 Chicago = 21:00 UTC).
    later = [
        quote("20:30:00", "MNQ", last="20990.00"),
        fill("20:30:05", "g1", "MNQ", "buy", "20990.00", account="REC-2"),
        quote("20:59:30", "MNQ", last="20995.50"),
        quote("23:04:55", "MNQ", last="20990.00"),
        fill("23:05:00", "f5", "MNQ", "buy", "20990.00"),
    ]
    home = _write(tmp_path, SESSION[:4] + later, more_config=SESSION_HOURS)
    daemon = DaemonProcess(home, allow_empty=False)
    try:
        daemon.start()
        wait_for(lambda: "Replay of session.jsonl finished" in daemon.output(), timeout=120,
                 interval=0.05, what="the replay to finish")  # fmt: skip
        status = daemon.get("/api/v1/status")
        lockouts = daemon.get(f"{ACCOUNT}/lockouts")["lockouts"]
        positions = daemon.get(f"{ACCOUNT}/positions")["positions"]
        session_end = daemon.get("/api/v1/accounts/REC-2/enforcement")["records"]
    finally:
        daemon.ensure_stopped()
    assert (status["now"], status["trading_day"]) == (at("23:05:00"), "2026-03-03")
    assert lockouts == []
    assert [(p["symbol"], p["size"]) for p in positions] == [("MNQ", 2)]  # a new day: allowed
    # Flattened on the rule tick at the session's last second, at the recorded 20,995.50.
    [record] = session_end
    assert (record["created_at"], record["rules"]) == (at("21:00:00"), ["session_block_outside"])
    with closing(sqlite3.connect(daemon.home / "state" / "risk_manager.sqlite3")) as db:
        daily = db.execute("SELECT started_at, ended_at FROM lockouts"
                           " WHERE rule = 'daily_realized_loss'").fetchall()  # fmt: skip
        days = db.execute("SELECT account_id, trading_day, realized_gross, fees FROM"
                          " account_days ORDER BY account_id, trading_day").fetchall()  # fmt: skip
    assert daily == [(at("14:45:10"), at("23:00:00"))]
    assert [(a, day, float(gross), float(fees)) for a, day, gross, fees in days] == [
        ("REC-1", "2026-03-02", -120.0, 1.48), ("REC-1", "2026-03-03", 0.0, 0.74),
        ("REC-2", "2026-03-02", 22.0, 1.48), ("REC-2", "2026-03-03", 0.0, 0.0),
    ]  # fmt: skip


def test_a_bad_recording_line_stops_the_start_with_exit_2(tmp_path: Path) -> None:
    home = _write(tmp_path, SESSION[:3], extra='{"type":"fill","ts":"yesterday"}\n')
    result = subprocess.run(
        [sys.executable, "-m", "risk_manager", "run", "--home", str(home), "--port", "0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = [x for x in result.stderr.splitlines() if "cannot start" in x]
    assert f"broker.replay.recording: {tmp_path / 'session.jsonl'} line 4: ts: " in line


def test_a_day_recorded_by_the_daemon_replays_through_new_rules(tmp_path: Path) -> None:
    recording = tmp_path / "recorded.jsonl"
    live_home = tmp_path / "live"
    write_config(live_home, text=MANUAL_CONFIG.format(profile="").replace(
        "[daemon]\n", f"[daemon]\nrecord_events = {json.dumps(str(recording))}\n"))  # fmt: skip
    live = DaemonProcess(live_home).start()  # no rules: the trader does as he likes
    try:
        live.price(21000.00)
        live.order("buy", 2)
        live.price(20970.00)
        live.order("sell", 2)  # −$121.48
        live.order("buy", 1)  # at 20,970
        live.price(20980.00)
        live.order("sell", 1)  # +$20 − $0.74
        assert live.get("/api/v1/accounts/SIM-1/pnl")["realized"] == -102.22
        assert live.stop() == 0
    finally:
        live.ensure_stopped()
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    [breach_at] = [x["ts"] for x in lines if x["type"] == "fill" and x["quantity"] == 2
                   and x["side"] == "sell"]  # fmt: skip

    home = tmp_path / "replay"
    write_config(home, text=CONFIG.format(recording=json.dumps(str(recording))).replace(
        "REC-1", "SIM-1"))  # fmt: skip
    replay = DaemonProcess(home, allow_empty=False).start()
    try:
        wait_for(lambda: "Replay of recorded.jsonl finished" in replay.output(), timeout=120,
                 interval=0.05, what="the replay to finish")  # fmt: skip
        pnl = replay.get("/api/v1/accounts/SIM-1/pnl")
        lockouts = replay.get("/api/v1/accounts/SIM-1/lockouts")["lockouts"]
        positions = replay.get("/api/v1/accounts/SIM-1/positions")["positions"]
    finally:
        replay.ensure_stopped()
    # The new $100 limit locks at the recorded breach; the entry after it is flattened at the
    # recorded 20,970 and the recorded exit, now a short, bought back at 20,980: −$120 gross,
    # fees of the 6 recorded contracts and the daemon's 2.
    daily = next(x for x in lockouts if x["rule"] == "daily_realized_loss")
    assert datetime.fromisoformat(daily["started_at"]) == datetime.fromisoformat(breach_at)
    assert (pnl["realized_gross"], pnl["fees"], pnl["realized"]) == (-120.0, 2.96, -122.96)
    assert positions == []
