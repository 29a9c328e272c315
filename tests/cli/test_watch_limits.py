"""The dashboard's distance-to-limit rows watch the figure each rule really trips on."""

from __future__ import annotations

from cli.watch import limit_rows

FIGURES = {"realized": -20.0, "unrealized": -30.0, "total": -50.0,
           "worst_position": -45.0, "best_position": 15.0}  # fmt: skip


def test_per_position_rules_watch_the_worst_and_best_position() -> None:
    rules = {"daily_unrealized_loss": {"limit": 50, "scope": "position"},
             "max_unrealized_profit": {"target": 100}}  # fmt: skip
    rows = limit_rows(rules, FIGURES)
    assert "45.00" in str(rows[0][2])
    assert "15.00" in str(rows[1][2])


def test_total_scope_and_include_unrealized_watch_account_figures() -> None:
    rows = limit_rows(
        {"daily_unrealized_loss": {"limit": 100, "scope": "total"},
         "daily_realized_loss": {"limit": 100, "include_unrealized": True}},
        FIGURES,
    )  # fmt: skip
    assert "50.00" in str(rows[0][2])  # realized + unrealized
    assert "30.00" in str(rows[1][2])  # all positions' unrealized
