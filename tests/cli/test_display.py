"""Formatting shared by both CLIs: money, percentages, zoned times, lockout ends, states."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli import display
from cli.client import check_url
from cli.exit_codes import CliError
from risk_manager.config.models import config_model
from risk_manager.config.suggest import did_you_mean

CHICAGO = display.zone("America/Chicago")


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4))
def test_money_text_is_dollars_and_cents_and_never_negative_zero(amount: Decimal) -> None:
    text = display.money_text(amount)

    assert text != "-$0.00"
    digits = Decimal(text.replace("$", "").replace(",", ""))
    assert abs(digits - amount) <= Decimal("0.005")


def test_money_colours_losses_red_and_gains_green() -> None:
    assert display.money(-1234.5).plain == "-$1,234.50"
    assert display.money(-1234.5).style == "red"
    assert display.money("12").style == "green"
    assert display.money(-0.001).plain == "$0.00"
    assert display.money(None).plain == "—"


def test_fees_read_as_a_cost_whatever_sign_the_api_uses() -> None:
    assert display.fees(1.48).plain == display.fees(-1.48).plain == "-$1.48"


@pytest.mark.parametrize(("fraction", "text"), [(-0.001, "0%"), (0.0, "0%"), (0.5, "50%")])
def test_percent_never_reads_minus_zero(fraction: float, text: str) -> None:
    assert display.percent(fraction) == text


def test_times_are_in_the_trading_day_zone_with_its_label() -> None:
    now = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday, CST

    assert display.clock_time("2025-03-04T23:00:00+00:00", CHICAGO, now) == "17:00 CT Tue"
    assert display.clock_time("2025-07-04T22:00:00+00:00", CHICAGO, now) == "17:00 CT Fri 4 Jul"
    assert display.stamp("2025-03-04T15:31:02+00:00", CHICAGO) == "2025-03-04 09:31:02 CT"


@pytest.mark.parametrize(
    ("ends", "until", "says"),
    [
        ("time", "2025-03-04T16:30:00+00:00", "until 10:30 CT Tue"),
        ("daily_reset", "2025-03-04T23:00:00+00:00", "until the daily reset, 17:00 CT Tue"),
        ("config_change", None, "until the configuration stops asking for it (admin)"),
        ("can_trade", None, "until the broker allows trading again"),
        ("never", None, "until an admin ends it"),
    ],
)
def test_each_lockout_says_how_it_really_ends(ends: str, until: str | None, says: str) -> None:
    now = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)

    assert display.lockout_end({"ends": ends, "until": until}, CHICAGO, now) == says


def test_countdown_reads_like_a_clock() -> None:
    assert display.countdown(3723) == "1h 02m 03s"
    assert display.countdown(65.2) == "1m 06s"
    assert display.countdown(None) == ""


def test_trading_state_comes_from_the_daemon_per_account_and_root() -> None:
    account = {"trading_state": "active", "symbol_states": {"ES": "halted", "MNQ": "active"}}

    assert display.trading_states(account, []) == ("ACTIVE", {"ES": "HALTED"})
    assert display.state_text("ACTIVE", {"ES": "HALTED"}).plain == "ACTIVE · ES HALTED"


def test_trading_state_falls_back_to_lockouts_for_an_older_daemon() -> None:
    symbol_only = [{"symbol": "ES"}]

    assert display.trading_states({"can_trade": True}, symbol_only) == ("ACTIVE", {"ES": "HALTED"})
    assert display.trading_states({"can_trade": True}, [{"symbol": None}])[0] == "HALTED"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:notaport",
        "127.0.0.1:5555",
        "http://127.0.0.1:99999",
        "http://",
        "http://[::1",
        "http://a b:5555",
        "http://127.0.0.1:\u0663",  # a digit, but not an ASCII one
    ],
)
def test_malformed_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(CliError) as refused:
        check_url(url)

    assert refused.value.exit_code == 2
    assert url in refused.value.message


@given(st.text(max_size=40).map(lambda tail: "http://" + tail))
def test_any_url_is_accepted_or_refused_with_a_reason(url: str) -> None:
    try:
        check_url(url)
    except CliError as refused:  # anything else would reach the user as a traceback
        code = refused.exit_code
    else:
        code = 2
    assert code == 2


def test_unknown_keys_get_the_closest_valid_name() -> None:
    model = config_model()

    assert (
        did_you_mean(model, ("profiles", "p", "max_contract")) == " (did you mean max_contracts?)"
    )
    assert did_you_mean(model, ("daemon", "prot")) == " (did you mean port?)"
    assert did_you_mean(model, ("broker", "simulated", "simulated", "seeed")) == (
        " (did you mean seed?)"
    )
    assert did_you_mean(model, ("daemon", "zzzzzz")) == ""
