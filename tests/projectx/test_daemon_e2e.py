"""The real daemon with `broker.kind = "projectx"` against the fake Gateway on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.daemon_process import DaemonProcess
from tests.projectx.conftest import ACCOUNT_ID, MNQ
from tests.projectx.daemon_config import write_home
from tests.projectx.fake_gateway.exchange import ASK
from tests.projectx.fake_gateway.server import FakeGateway

ACCOUNT = "/api/v1/accounts/PX-1"
LOSS_RULE = "daily_realized_loss.limit = 100"


def wait(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start(start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path,
          profile: str = LOSS_RULE, negotiate: bool = True) -> DaemonProcess:  # fmt: skip
    home = write_home(tmp_path / "home", gateway, profile, negotiate)
    daemon = start_daemon(home=home)
    wait(lambda: gateway.subscribers("user") == 1, what="the user hub subscription")
    return daemon


def lockout_rules(daemon: DaemonProcess) -> set[str]:
    return {x["rule"] for x in daemon.get(f"{ACCOUNT}/lockouts")["lockouts"]}


def daemon_positions(daemon: DaemonProcess) -> dict[str, int]:
    return {p["symbol"]: p["size"] for p in daemon.get(f"{ACCOUNT}/positions")["positions"]}


def batches_settled(daemon: DaemonProcess) -> bool:
    return all(r["status"] == "done" for r in daemon.get(f"{ACCOUNT}/enforcement")["records"])


def losing_trade(gateway: FakeGateway) -> None:
    """Buy 3 MNQ with a bracket, fall 60 points, sell 2: -$240 realized, 1 contract left."""
    gateway.buy(ACCOUNT_ID, MNQ, 3, brackets={"stop": 400, "target": 400})
    gateway.wait_until(lambda: len(gateway.state.exchange.working(ACCOUNT_ID)) == 2)
    gateway.set_price(MNQ, "20940")
    gateway.trade(ACCOUNT_ID, MNQ, ASK, 2)


def test_loss_breach_closes_cancels_locks_and_a_dropped_socket_does_not_repeat_it(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path)
    losing_trade(gateway)

    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the account to go flat")
    wait(lambda: gateway.working(ACCOUNT_ID) == [], what="the brackets to be cancelled")
    [close] = gateway.wait_request("Position/closeContract")
    assert close == {"accountId": ACCOUNT_ID, "contractId": MNQ}
    assert len(gateway.requests("Order/cancel")) == 2
    wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")
    pnl = daemon.get(f"{ACCOUNT}/pnl")
    assert pnl["realized"] < -240  # the loss, its fees, and the flatten's exit

    # The socket drops mid-session: reconnect, re-subscribe, reconcile; nothing is re-enforced.
    records = len(daemon.get(f"{ACCOUNT}/enforcement")["records"])
    searches = len(gateway.requests("Trade/search"))
    assert gateway.drop("user") == 1
    wait(lambda: len(gateway.requests("Trade/search")) > searches, what="the reconcile")
    wait(lambda: gateway.subscribers("user") == 1, what="the re-subscription")
    assert daemon.get(f"{ACCOUNT}/pnl")["realized"] == pnl["realized"]
    assert len(daemon.get(f"{ACCOUNT}/enforcement")["records"]) == records
    assert len(gateway.requests("Position/closeContract")) == 1

    # Still locked: a new entry (seen through the new subscription) is flattened at once. It
    # fills at once too (a market order still working would be cancelled instead).
    gateway.set(fill_delay=0.0)
    gateway.buy(ACCOUNT_ID, MNQ, 1)
    gateway.wait_request("Position/closeContract", count=2)
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the lockout flatten")
    assert "GatewayLogout" not in daemon.output()


def test_429_and_lost_replies_on_close_are_reconciled_and_completed(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path, negotiate=False)
    # The first close is throttled before acting, the second acts but its reply is lost.
    gateway.fail("Position/closeContract", "429")
    gateway.fail("Position/closeContract", "500", act=True)
    losing_trade(gateway)

    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the account to go flat")
    wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")
    time.sleep(1.0)  # let any over-eager retry show itself
    closes = gateway.requests("Position/closeContract")
    assert len(closes) == 2  # one 429, one that acted: never a third, blind one
    assert gateway.position(ACCOUNT_ID, MNQ) == 0  # not reversed by a duplicate close


def test_refused_close_is_retried_escalated_and_shown_in_health(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path)
    gateway.fail("Position/closeContract", "false", times=1000, code=5)  # OrderRejected
    losing_trade(gateway)

    gateway.wait_request("Position/closeContract", count=3)
    wait(lambda: daemon.get("/api/v1/health")["enforcement_failures"] > 0, what="health")
    assert gateway.position(ACCOUNT_ID, MNQ) == 1
    assert "FAILED" in daemon.output()
    gateway.fail("Position/closeContract", "false", times=0)
    gateway.call(gateway.state.faults.clear)
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, timeout=30, what="the slow retry")


def test_fill_missed_by_a_stalled_feed_is_enforced_after_rest_reconcile(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path, profile="max_contracts.limit = 1")
    gateway.stall("user")  # the socket stays open and pings; pushes are lost
    gateway.buy(ACCOUNT_ID, MNQ, 3)
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 3, what="the fill")

    # The stall detector compares REST positions, reconnects, and the reconcile enforces.
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 1, timeout=30, what="the reduction")
    [reduce] = gateway.wait_request("Position/partialCloseContract")
    assert reduce["size"] == 2
    assert "user feed stalled" in daemon.output()
    gateway.stall("user", False)
    wait(lambda: daemon_positions(daemon) == {"MNQZ25": 1}, what="the daemon's view")


def test_expired_token_mid_session_is_renewed_and_enforcement_goes_through(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path)
    logins = len(gateway.requests("Auth/loginKey"))
    gateway.expire_tokens()
    gateway.drop("user")  # the hub must reconnect with a fresh token too
    wait(lambda: gateway.subscribers("user") == 1, what="the hub to come back")
    losing_trade(gateway)

    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the flatten")
    wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")
    assert len(gateway.requests("Auth/loginKey")) > logins
    assert "test-api-key" not in daemon.output()  # the key is never logged


TWO_ACCOUNTS = """
[accounts.PX-2]
name = "PRAC-V2-4012"
profile = "test"
"""


def test_an_unpriceable_contract_halts_only_its_account(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    home = write_home(tmp_path / "home", gateway, LOSS_RULE)
    config = home / "config" / "risk_manager.toml"
    config.write_text(config.read_text() + TWO_ACCOUNTS)
    daemon = start_daemon(home=home)
    wait(lambda: gateway.subscribers("user") == 1, what="the user hub subscription")
    exotic = "CON.F.US.ZZX.Z25"  # not in the built-in table; the Gateway will not describe it
    gateway.fail("Contract/searchById", "false", times=1000, code=1)
    gateway.set_price(exotic, "100")
    gateway.buy(ACCOUNT_ID, exotic, 1)

    states = lambda: {a: daemon.get(f"/api/v1/accounts/{a}/lockouts")["trading_state"]  # noqa: E731
                      for a in ("PX-1", "PX-2")}  # fmt: skip
    wait(lambda: states()["PX-1"] == "halted", what="the halt")
    assert states()["PX-2"] == "active"
    assert daemon.proc is not None
    assert daemon.proc.poll() is None  # the daemon stays up


def test_slow_fills_and_flat_payloads_are_not_closed_twice(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    daemon = start(start_daemon, gateway, tmp_path)
    losing_trade(gateway)
    wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the first flatten")
    closes = len(gateway.requests("Position/closeContract"))

    # Another timing: every fill lands 1.5 s after its acknowledgement, payloads flat.
    gateway.set(fill_delay=1.5, wrap=False)
    gateway.set_price(MNQ, "20950")  # the pending entry fills at once when the price moves
    gateway.buy(ACCOUNT_ID, MNQ, 2)
    gateway.set_price(MNQ, "20950.25")
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 2, what="the entry")
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, timeout=30, what="the slow flatten")
    time.sleep(2.0)  # a duplicate close would show up (and reverse the position) by now
    assert len(gateway.requests("Position/closeContract")) == closes + 1
    assert gateway.position(ACCOUNT_ID, MNQ) == 0
    assert daemon_positions(daemon) == {}


def test_a_gateway_down_at_start_is_retried_and_the_account_protected_once_it_answers(
    start_daemon: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    """No network at boot: the daemon serves its API, says why nothing is enforced, keeps
    trying, and enforces as soon as the Gateway answers (no exit, no crash loop)."""
    with FakeGateway(ping_interval=1.0) as gateway:
        home = write_home(tmp_path / "home", gateway, LOSS_RULE)
    # The port is free again: whatever connects there is refused, as with no network.
    daemon = start_daemon(home=home)
    health = daemon.get("/api/v1/health")
    assert health["status"] == "degraded"
    assert health["broker"]["connected"] is False
    assert "ConnectError" in health["broker"]["error"]
    assert "Cannot connect to the broker" in daemon.output()

    with FakeGateway(ping_interval=1.0, port=gateway.port) as gateway:
        gateway.add_account(ACCOUNT_ID, "PRAC-V2-4011")
        gateway.set_price(MNQ, "21000")
        connected = {"kind": "projectx", "connected": True, "error": None}
        wait(lambda: daemon.get("/api/v1/health")["broker"] == connected, timeout=60,
             what="the connection")  # fmt: skip
        wait(lambda: gateway.subscribers("user") == 1, what="the user hub subscription")
        losing_trade(gateway)
        wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the account to go flat")
        wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")
        assert daemon.proc is not None
        assert daemon.proc.poll() is None  # still the first process: no exit, no restart


def test_an_account_the_gateway_does_not_know_leaves_the_others_protected(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    """A typo or a closed account in [accounts]: the start went through reconcile, failed on
    it, and every restart after it too, so no account at all was enforced."""
    home = write_home(tmp_path / "home", gateway, LOSS_RULE)
    config = home / "config" / "risk_manager.toml"
    config.write_text(config.read_text() + '[accounts.PX-9]\nname = "CLOSED-1"\nprofile = "test"\n')
    daemon = start_daemon(home=home)
    wait(lambda: gateway.subscribers("user") == 1, what="the user hub subscription")
    assert "Account PX-9 cannot be reconciled" in daemon.output()

    losing_trade(gateway)
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 0, what="the account to go flat")
    wait(lambda: "daily_realized_loss" in lockout_rules(daemon), what="the lockout")


def test_a_failing_start_up_reconcile_is_retried_not_fatal(
    start_daemon: Callable[..., DaemonProcess], gateway: FakeGateway, tmp_path: Path
) -> None:
    """The Gateway logs in but its trade search answers 500 for a while: the daemon serves,
    says why, and adopts the open position once the reads work (it used to exit)."""
    gateway.buy(ACCOUNT_ID, MNQ, 2)
    wait(lambda: gateway.position(ACCOUNT_ID, MNQ) == 2, what="the position at the Gateway")
    # Three failures: retried after 1 s, 2 s and 4 s, so /health still names the error right
    # after the start even on a slow machine.
    gateway.fail("Trade/search", "500", times=3)
    home = write_home(tmp_path / "home", gateway, LOSS_RULE)
    daemon = start_daemon(home=home)
    assert daemon.get("/api/v1/health")["broker"]["error"].startswith("reconcile: ")
    assert "Cannot read the accounts from the broker" in daemon.output()

    wait(lambda: daemon_positions(daemon) == {"MNQZ25": 2}, timeout=60, what="the reconcile")
    assert daemon.get("/api/v1/health")["broker"]["error"] is None
    assert daemon.proc is not None
    assert daemon.proc.poll() is None  # still the first process
