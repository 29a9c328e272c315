"""Message text: MarkdownV2 escaping, money and time formats, signatures, 429 parsing."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.notify.channels import retry_after
from risk_manager.notify.compose import Composer
from risk_manager.notify.delivery import backoff
from risk_manager.notify.render import discord_payload, signature, telegram_payload
from risk_manager.notify.text import escape_markdown_v2, local_time, usd

SPECIAL = "_*[]()~`>#+-=|{}.!\\"
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 9, 15, 30, tzinfo=UTC)


@given(st.text())
def test_markdown_v2_escaping_round_trips_and_leaves_no_bare_special(text: str) -> None:
    escaped = escape_markdown_v2(text)
    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL) == text
    bare = re.sub(r"\\.", "", escaped, flags=re.DOTALL)
    assert not any(ch in SPECIAL for ch in bare)


def test_usd_matches_the_cli_money_format() -> None:
    assert [usd("-1234.5"), usd("80"), usd("-0.001"), usd("2.675"), usd("n/a")] == [
        "-$1,234.50", "$80.00", "$0.00", "$2.68", "n/a",
    ]  # fmt: skip


def test_times_are_shown_in_the_trading_day_zone_with_dst() -> None:
    # 9 March 2026 is after the US switch to daylight time: Chicago is UTC-5 (CDT).
    assert local_time(NOW, CHICAGO, NOW) == "10:30 CDT"
    assert local_time(datetime(2026, 3, 10, 22, 0, tzinfo=UTC), CHICAGO, NOW) == (
        "Tue 10 Mar 17:00 CDT"
    )


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"a": 1}'
    expected = hmac.new(b"key", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(b"key", "1700000000", body) == f"sha256={expected}"


def test_retry_after_reads_discord_telegram_and_the_header() -> None:
    def response(**kwargs: object) -> httpx.Response:
        return httpx.Response(429, **kwargs)  # type: ignore[arg-type]

    assert retry_after(response(json={"retry_after": 1.25})) == 1.25
    assert retry_after(response(json={"parameters": {"retry_after": 7}})) == 7.0
    assert retry_after(response(headers={"Retry-After": "3"})) == 3.0
    assert retry_after(response(text="slow down")) is None


@given(st.integers(1, 40), st.floats(0.01, 10), st.floats(10, 600))
def test_backoff_stays_between_half_and_the_capped_exponential(
    attempt: int, base: float, cap: float
) -> None:
    ceiling = min(cap, base * 2 ** (attempt - 1))
    assert ceiling / 2 <= backoff(attempt, base, cap) <= ceiling


def composer() -> Composer:
    return Composer({"ACC-1": "Alice"}, CHICAGO, lambda: NOW)


def test_an_enforced_breach_is_one_message_with_rule_values_and_outcome() -> None:
    compose = composer().compose
    violation = {
        "account_id": "ACC-1", "rule": "daily_realized_loss", "batch_id": 7,
        "reason": "daily realized loss -$126.22 reached the -$100.00 limit", "critical": False,
        "trigger": {"realized": "-126.22", "unrealized": None, "limit": "100"},
        "actions": ["flatten"], "status": "pending",
    }  # fmt: skip
    assert compose("violation", violation) is None  # held until the outcome is known
    done = compose("enforcement", {"account_id": "ACC-1", "batch_id": 7, "status": "done",
                                   "outcome": "flatten: 2 broker request(s)", "attempt": 1,
                                   "latency_ms": 3.2})  # fmt: skip
    assert done is not None
    assert done.title == "Enforced daily_realized_loss — ACC-1 (Alice)"
    assert done.severity == "warning"
    assert "realized -$126.22, limit $100.00" in done.lines
    assert "Outcome: flatten: 2 broker request(s) (3 ms)" in done.lines
    assert done.lines[-1] == "10:30 CDT"


def test_trigger_values_are_dollars_only_where_they_are_money() -> None:
    notice = composer().compose("violation", {
        "account_id": "ACC-1", "rule": "max_contracts", "batch_id": None, "status": "logged",
        "reason": "3 open contracts exceed the limit of 2", "critical": False,
        "trigger": {"gross": 3, "limit": 2, "symbol": "MNQ"}, "actions": [],
    })  # fmt: skip
    assert notice is not None
    assert "gross 3, limit 2, symbol MNQ" in notice.lines
    trailing = composer().compose("violation", {
        "account_id": "ACC-1", "rule": "trailing_daily_loss", "batch_id": None,
        "status": "logged", "reason": "account value -$52.10 reached the threshold",
        "critical": False, "actions": [], "trigger": {
            "value": "-52.10", "peak": "1200", "threshold": "-50", "limit": "1250",
            "trail_from": "realized",
        },
    })  # fmt: skip
    assert trailing is not None
    assert (
        "value -$52.10, peak $1,200.00, threshold -$50.00, limit $1,250.00, trail from realized"
        in trailing.lines
    )


def test_admin_details_read_as_text_not_python() -> None:
    notice = composer().compose("admin", {"account_id": "ACC-1", "action": "unlock",
                                          "details": {"ended": [3, 4], "note": None}})  # fmt: skip
    assert notice is not None
    assert notice.title == "Admin unlock — ACC-1 (Alice)"
    assert notice.lines == ("ended: 3, 4", "10:30 CDT")


def test_a_failed_enforcement_is_critical() -> None:
    notice = composer().compose("enforcement", {
        "account_id": "ACC-1", "batch_id": 9, "status": "pending", "outcome": "broker down",
        "attempt": 2, "latency_ms": 50.0,
    })  # fmt: skip
    assert notice is not None
    assert notice.severity == "critical"
    assert notice.title.startswith("Enforcement FAILED, retrying")


def test_any_alert_on_the_bus_becomes_a_notice_without_code_for_its_kind() -> None:
    notice = composer().compose("disk_full", {"severity": "critical", "message": "disk is full",
                                              "account_id": None})  # fmt: skip
    assert notice is not None
    assert (notice.severity, notice.title) == ("critical", "Disk full — daemon")
    assert composer().compose("pnl", {"account_id": "ACC-1"}) is None


def test_discord_is_coloured_by_severity_and_telegram_escapes_the_title() -> None:
    notice = composer().compose("lockout", {
        "account_id": "ACC-1", "rule": "max_contracts", "symbol": None, "reason": "3 > 2",
        "until": "2026-03-09T16:00:00+00:00", "ends": "time",
    })  # fmt: skip
    assert notice is not None
    assert discord_payload(notice)["embeds"][0]["color"] == 0xF39C12
    text = telegram_payload(notice, "42")["text"]
    assert "Locked out \\(account\\) until 11:00 CDT — ACC\\-1 \\(Alice\\)" in text


@given(st.text(alphabet=SPECIAL + "ab \n", min_size=1, max_size=6000))
def test_telegram_text_stays_within_4096_characters_after_escaping(body: str) -> None:
    notice = composer().compose("disk_full", {"severity": "critical", "message": body,
                                              "account_id": None})  # fmt: skip
    assert notice is not None
    assert len(telegram_payload(notice, "1")["text"]) <= 4096


def test_a_stop_moved_by_trade_management_is_only_info() -> None:
    compose = composer().compose
    compose("violation", {"account_id": "ACC-1", "rule": "trade_management", "batch_id": 3,
                          "reason": "stop to breakeven", "trigger": {}, "critical": False,
                          "actions": ["move_stop"], "status": "pending"})  # fmt: skip
    notice = compose("enforcement", {"account_id": "ACC-1", "batch_id": 3, "status": "done",
                                     "outcome": "move_stop MNQ: 1 broker request(s)",
                                     "attempt": 1, "latency_ms": 2.0})  # fmt: skip
    assert notice is not None
    assert notice.severity == "info"
