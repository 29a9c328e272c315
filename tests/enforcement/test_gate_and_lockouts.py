"""The lockout book and the trading gate on a real SQLite store (no daemon).

The book alone ends lockouts and announces each end, whatever the cause; the gate derives
ACTIVE / REDUCING / HALTED for the account and each symbol root from the lockouts in force.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from risk_manager.domain.contracts import lookup
from risk_manager.domain.events import Fill, Side
from risk_manager.enforcement.gate import TradingGate
from risk_manager.enforcement.lockouts import LockoutBook
from risk_manager.enforcement.planner import plan_steps
from risk_manager.rules.base import Action, ActionKind, LockoutEnd, LockoutRequest, TradingState
from risk_manager.state.ledger import AccountState, DayTotals
from risk_manager.state.store import Store

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def book_on(folder: Path) -> tuple[LockoutBook, list[tuple[str, dict[str, Any]]]]:
    """A book on a fresh store in `folder` (":memory:" for a throwaway one)."""
    store = Store(folder if folder.name == ":memory:" else folder / "daemon.sqlite3")
    said: list[tuple[str, dict[str, Any]]] = []
    return LockoutBook(store.lockouts, lambda kind, data: said.append((kind, data))), said


def request(end: LockoutEnd, minutes: int | None, symbol: str | None = None,
            state: TradingState = TradingState.REDUCING) -> LockoutRequest:  # fmt: skip
    until = None if minutes is None else NOW + timedelta(minutes=minutes)
    return LockoutRequest(end, until, f"{end.value} test", symbol, state)


def test_every_end_is_announced_with_its_reason(tmp_path: Path) -> None:
    book, said = book_on(tmp_path)
    short = book.add("A", "cooldown", request(LockoutEnd.TIME, 5), NOW)
    assert short is not None
    longer = book.add("A", "cooldown", request(LockoutEnd.TIME, 15), NOW)  # supersedes
    assert longer is not None
    book.add("A", "guard", request(LockoutEnd.CAN_TRADE, None), NOW)
    book.add("A", "blocks", request(LockoutEnd.CONFIG_CHANGE, None, "ES"), NOW)

    book.end_matching("A", {LockoutEnd.CAN_TRADE}, "canTrade restored", LATER)
    (blocked,) = [x for x in book.active("A") if x.rule == "blocks"]
    book.end(blocked, "config change", LATER)

    ends = [(kind, data["id"], data["end_reason"]) for kind, data in said]
    assert ends == [
        ("lockout_ended", short.id, "superseded"),
        ("lockout_ended", short.id + 2, "canTrade restored"),
        ("lockout_ended", short.id + 3, "config change"),
    ]
    assert [x.id for x in book.active("A")] == [longer.id]


def test_a_shorter_request_of_the_same_rule_changes_nothing(tmp_path: Path) -> None:
    book, said = book_on(tmp_path)
    book.add("A", "personal", request(LockoutEnd.TIME, 60), NOW)
    assert book.holds("A", "personal", request(LockoutEnd.TIME, 30))
    assert not book.holds("A", "personal", request(LockoutEnd.TIME, 90))
    assert not book.holds("A", "other", request(LockoutEnd.TIME, 30))
    assert book.add("A", "personal", request(LockoutEnd.TIME, 30), NOW) is None
    assert said == []


def test_states_survive_a_reload_from_the_database(tmp_path: Path) -> None:
    book, _ = book_on(tmp_path)
    book.add("A", "drawdown", request(LockoutEnd.NEVER, None, state=TradingState.HALTED), NOW)
    reloaded = LockoutBook(book.rows)
    assert [x.state for x in reloaded.active("A")] == [TradingState.HALTED]


def account(*held: tuple[str, int]) -> AccountState:
    state = AccountState("A", "A", Decimal(50000), True, DayTotals(date(2026, 3, 10)))
    for symbol, size in held:
        side = Side.BUY if size > 0 else Side.SELL
        state.apply_fill(Fill(f"f{symbol}", "A", NOW, symbol, side, abs(size), Decimal(100),
                              Decimal(0)), lookup(symbol))  # fmt: skip
    return state


def test_gate_states_per_account_and_root(tmp_path: Path) -> None:
    book, _ = book_on(tmp_path)
    gate = TradingGate(book)
    held = account(("MNQH6", 1), ("ESH6", -1))
    assert gate.view(held, NOW) == {
        "trading_state": "active", "symbol_states": {"ES": "active", "MNQ": "active"},
        "conditions": [],
    }  # fmt: skip
    book.add("A", "blocks", request(LockoutEnd.CONFIG_CHANGE, None, "ES", TradingState.HALTED),
             NOW)  # fmt: skip
    book.add("A", "cooldown", request(LockoutEnd.TIME, 5), NOW)
    assert gate.view(held, NOW) == {
        "trading_state": "reducing", "symbol_states": {"ES": "halted", "MNQ": "reducing"},
        "conditions": [],
    }  # fmt: skip
    # A timed lockout past its end no longer counts, even before the sweep stamps it.
    assert gate.state("A", "MNQ", LATER + timedelta(seconds=1)) is TradingState.ACTIVE
    assert gate.state("A", "ES", LATER + timedelta(seconds=1)) is TradingState.HALTED


def test_gate_undoes_only_what_a_fill_opened_under_reducing(tmp_path: Path) -> None:
    book, _ = book_on(tmp_path)
    gate = TradingGate(book)
    held = account(("MNQH6", 2))
    book.add("A", "cooldown", request(LockoutEnd.TIME, 5), NOW)
    add = Fill("f2", "A", NOW, "MNQH6", Side.BUY, 1, Decimal(100), Decimal(0))
    effect = held.apply_fill(add, lookup("MNQH6"))
    (violation,) = gate.on_fill(add, effect, held, NOW)
    assert [(a.kind, a.quantity) for a in violation.actions] == [
        (ActionKind.REDUCE, 1), (ActionKind.CANCEL, None),
    ]  # fmt: skip
    exit_fill = Fill("f3", "A", NOW, "MNQH6", Side.SELL, 1, Decimal(100), Decimal(0))
    assert gate.on_fill(exit_fill, held.apply_fill(exit_fill, lookup("MNQH6")), held, NOW) == []
    book.add("A", "loss", request(LockoutEnd.DAILY_RESET, 60, state=TradingState.HALTED), NOW)
    (violation,) = gate.on_fill(add, held.apply_fill(add, lookup("MNQH6")), held, NOW)
    assert violation.actions[0].kind is ActionKind.CLOSE  # halted: nothing may stand
    assert [v.actions for v in gate.on_standing(held, NOW)] == [(Action(ActionKind.FLATTEN),)]


def test_a_condition_holds_every_account_without_a_lockout_row(tmp_path: Path) -> None:
    book, said = book_on(tmp_path)
    gate = TradingGate(book)
    held = account(("MNQH6", 1))
    gate.set_condition("storage_unavailable", TradingState.REDUCING, "disk full", NOW)
    assert gate.state("A", None, NOW) is TradingState.REDUCING
    assert gate.state("B", "ES", NOW) is TradingState.REDUCING  # every account, every root
    assert gate.view(held, NOW)["conditions"] == [
        {"name": "storage_unavailable", "state": "reducing", "reason": "disk full",
         "since": NOW.isoformat()},
    ]  # fmt: skip
    add = Fill("f2", "A", NOW, "MNQH6", Side.BUY, 1, Decimal(100), Decimal(0))
    (violation,) = gate.on_fill(add, held.apply_fill(add, lookup("MNQH6")), held, NOW)
    assert (violation.actions[0].kind, violation.actions[0].quantity) == (ActionKind.REDUCE, 1)
    assert gate.on_standing(held, NOW) == []  # REDUCING: what was held may stay
    gate.set_condition("storage_unavailable", TradingState.HALTED, "queue full", NOW)
    assert [v.actions for v in gate.on_standing(held, NOW)] == [(Action(ActionKind.FLATTEN),)]
    gate.clear_condition("storage_unavailable")
    assert gate.view(held, NOW)["trading_state"] == "active"
    assert book.active("A") == []
    assert said == []  # no lockout started or ended


@settings(max_examples=200, deadline=None)
@given(before=st.integers(-5, 5), fill=st.integers(-8, 8).filter(bool))
def test_under_reducing_the_gate_never_leaves_more_exposure_than_before_the_fill(
    before: int, fill: int
) -> None:
    book, _ = book_on(Path(":memory:"))
    book.add("A", "cooldown", request(LockoutEnd.TIME, 5), NOW)
    held = account(("MNQH6", before)) if before else account()
    side = Side.BUY if fill > 0 else Side.SELL
    event = Fill("f-next", "A", NOW, "MNQH6", side, abs(fill), Decimal(100), Decimal(0))
    effect = held.apply_fill(event, lookup("MNQH6"))
    after = effect.position.size if effect.position else 0
    steps = plan_steps(TradingGate(book).on_fill(event, effect, held, NOW), held, set())
    final = after
    for step in steps:
        if step.kind is ActionKind.CLOSE:
            final = 0
        elif step.kind is ActionKind.REDUCE:
            assert step.target is not None
            final = step.target if after > 0 else -step.target
    assert abs(final) <= abs(before)
    assert final == 0 or (final > 0) == (before > 0)  # never flipped by the gate
    if not effect.opened:
        assert steps == []  # a fill that only reduced passes untouched
