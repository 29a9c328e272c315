"""The planner: violations of one event → ordered, de-duplicated broker steps (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.contracts import lookup
from risk_manager.domain.events import Fill, Side
from risk_manager.enforcement.planner import Step, plan_steps
from risk_manager.rules.base import Action, ActionKind, Violation
from risk_manager.state.ledger import AccountState, DayTotals

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
K = ActionKind


def account(*held: tuple[str, int]) -> AccountState:
    state = AccountState("A", "A", Decimal(50000), True, DayTotals(date(2026, 3, 10)))
    for symbol, size in held:
        side = Side.BUY if size > 0 else Side.SELL
        fill = Fill(f"f{symbol}", "A", NOW, symbol, side, abs(size), Decimal(100), Decimal(0))
        state.apply_fill(fill, lookup(symbol))
    return state


def violation(*actions: Action, rule: str = "r") -> Violation:
    return Violation(rule, "A", "breach", {}, actions)


def test_a_flatten_absorbs_every_other_action() -> None:
    found = [violation(Action(K.REDUCE, "MNQ", 1)), violation(Action(K.FLATTEN))]
    assert plan_steps(found, account(("MNQ", 3)), set()) == [Step(K.FLATTEN)]


def test_nothing_is_planned_while_a_flatten_is_in_flight() -> None:
    found = [violation(Action(K.CLOSE, "MNQ"))]
    assert plan_steps(found, account(("MNQ", 3)), {(K.FLATTEN, None)}) == []


def test_close_covers_the_symbols_reduce_cancel_and_stops_in_severity_order() -> None:
    found = [
        violation(Action(K.PLACE_STOP, "ES", 1, price=Decimal(5990), side=-1)),
        violation(Action(K.CANCEL, "MNQ"), Action(K.REDUCE, "MNQ", 1)),
        violation(Action(K.CLOSE, "MNQ"), Action(K.PLACE_STOP, "MNQ", 2, side=-1)),
        violation(Action(K.REDUCE, "ES", 1)),
    ]

    steps = plan_steps(found, account(("MNQ", 3), ("ES", 2)), set())

    assert [(s.kind, s.symbol) for s in steps] == [
        (K.CLOSE, "MNQ"), (K.REDUCE, "ES"), (K.PLACE_STOP, "ES"),
    ]  # fmt: skip
    assert steps[1].target == 1


def test_reduces_of_one_symbol_merge_into_the_deepest_as_an_absolute_target() -> None:
    found = [violation(Action(K.REDUCE, "MNQ", 1)), violation(Action(K.REDUCE, "MNQ", 3))]
    assert plan_steps(found, account(("MNQ", -5)), set()) == [Step(K.REDUCE, "MNQ", 2)]


def test_a_reduce_without_a_position_or_already_running_is_dropped() -> None:
    assert plan_steps([violation(Action(K.REDUCE, "MNQ", 1))], account(), set()) == []
    busy = {(K.REDUCE, "MNQ")}
    assert plan_steps([violation(Action(K.REDUCE, "MNQ", 1))], account(("MNQ", 2)), busy) == []


def test_cancel_all_replaces_per_symbol_cancels() -> None:
    found = [violation(Action(K.CANCEL, "ES")), violation(Action(K.CANCEL))]
    assert plan_steps(found, account(), set()) == [Step(K.CANCEL)]


SYMBOLS = st.sampled_from(["MNQ", "ES", "CL"])
ACTIONS = st.one_of(
    st.builds(Action, st.sampled_from([K.FLATTEN, K.ALERT])),
    st.builds(Action, st.sampled_from([K.CLOSE, K.CANCEL]), st.none() | SYMBOLS),
    st.builds(Action, st.just(K.REDUCE), SYMBOLS, st.integers(0, 8)),
    st.builds(Action, st.just(K.PLACE_STOP), SYMBOLS, st.integers(1, 3), side=st.just(-1)),
)


@given(
    actions=st.lists(ACTIONS, max_size=8),
    sizes=st.dictionaries(SYMBOLS, st.integers(-6, 6).filter(bool), max_size=3),
)
def test_property_plans_are_ordered_unique_and_never_reduce_beyond_flat(
    actions: list[Action], sizes: dict[str, int]
) -> None:
    held = account(*sizes.items())

    steps = plan_steps([violation(a) for a in actions], held, set())

    assert len(set(steps)) == len(steps)  # nothing planned twice
    assert [step.kind for step in steps] == sorted(step.kind for step in steps)
    if any(action.kind is K.FLATTEN for action in actions):
        assert steps == [Step(K.FLATTEN)]
    for step in steps:
        if step.kind is K.REDUCE:
            assert step.symbol is not None
            assert step.target is not None
            assert 0 <= step.target < abs(sizes[step.symbol])
