"""The import graph of `risk_manager` and `cli`, read from the source (nothing is imported):
every arrow points down the layer table, and no two packages import each other.

A unit is a top-level package or module of `risk_manager` (`api`, `brokers`, `pipeline` …) or
`cli`. Imports inside functions count (they run too); imports under `if TYPE_CHECKING:` count
as well (a type names what it depends on). A module that builds an `APIRouter` is API code
wherever it lives: the simulator's `/api/v1/sim` routes sit beside their broker and are
mounted through the `RouteProvider` capability, the one hook allowed to point up (`HOOKS`).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top: a unit may import its own layer and the layers below, never one above.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(units.split()))
    for name, units in (
        ("foundation", "domain errors exit_codes netaddr paths clock bus home_files service auth"),
        ("state", "state"),
        ("rules", "rules"),
        ("config", "config notify"),
        ("brokers", "brokers risk_manager logs"),
        ("core", "pipeline reconcile event_tap enforcement storage_guard trader_sessions"),
        ("runtime", "runtime health"),
        ("composition", "assembly alert_watch"),
        ("api", "api"),
        ("entry points", "daemon broker_link stop_signals demo __main__ cli"),
    )
)
# (importing module, imported module): the RouteProvider hook, imported inside `api_routers`.
HOOKS = frozenset(
    {("risk_manager.brokers.simulated.adapter", "risk_manager.brokers.simulated.routes")}
)


@dataclass(frozen=True)
class Arrow:
    source: str  # module names
    target: str
    line: int


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    files = [*(ROOT / "risk_manager").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]
    return {_module(path): (path, ast.parse(path.read_text(), str(path))) for path in files}


def _imports(module: str, path: Path, tree: ast.Module) -> list[tuple[str, int]]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.append((base, node.lineno))
            # `from risk_manager.api import deps` imports a module, not a name.
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


@cache
def _arrows() -> tuple[list[Arrow], set[str]]:
    sources = _sources()
    routes = {m for m, (_, tree) in sources.items() if _builds_router(tree)}
    arrows = []
    for module, (path, tree) in sources.items():
        for target, line in _imports(module, path, tree):
            if target in sources and target != module:
                arrows.append(Arrow(module, target, line))
    return arrows, routes


def _builds_router(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", None) == "APIRouter"
        for node in ast.walk(tree)
    )


def _unit(module: str, routes: set[str]) -> str:
    if module in routes:
        return "api"
    parts = module.split(".")
    return parts[0] if parts[0] == "cli" or len(parts) == 1 else parts[1]


def _layer_of() -> dict[str, int]:
    return {unit: index for index, (_, units) in enumerate(LAYERS) for unit in units}


def _table(edges: dict[str, set[str]]) -> str:
    layer = _layer_of()
    lines = ["layer table (bottom first), each unit with what it imports:"]
    for index, (name, units) in enumerate(LAYERS):
        lines.append(f"  {index} {name}")
        for unit in sorted(units):
            lines.append(f"      {unit:<16} -> {', '.join(sorted(edges.get(unit, ()))) or '-'}")
    unplaced = sorted(set(edges) - set(layer))
    if unplaced:
        lines.append(f"  not in the table: {', '.join(unplaced)}")
    return "\n".join(lines)


def _unit_graph() -> tuple[dict[str, set[str]], list[tuple[Arrow, str, str]]]:
    arrows, routes = _arrows()
    edges: dict[str, set[str]] = defaultdict(set)
    crossing = []
    for arrow in arrows:
        if (arrow.source, arrow.target) in HOOKS:
            continue
        source, target = _unit(arrow.source, routes), _unit(arrow.target, routes)
        if source != target:
            edges[source].add(target)
            crossing.append((arrow, source, target))
    return edges, crossing


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        for other in sorted(edges.get(unit, ())):
            if other not in index:
                visit(other)
                low[unit] = min(low[unit], low[other])
            elif other in stack:
                low[unit] = min(low[unit], index[other])
        if low[unit] == index[unit]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == unit:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for unit in sorted(edges):
        if unit not in index:
            visit(unit)
    return groups


def test_every_unit_has_a_layer() -> None:
    edges, _ = _unit_graph()
    units = set(edges) | {u for targets in edges.values() for u in targets}
    assert units <= set(_layer_of()), _table(edges)


def test_no_arrow_points_up_the_layers() -> None:
    edges, crossing = _unit_graph()
    layer = _layer_of()
    upward = sorted(
        f"{arrow.source}:{arrow.line} -> {arrow.target} ({source} is below {target})"
        for arrow, source, target in crossing
        if layer.get(source, 0) < layer.get(target, 0)
    )
    assert upward == [], "upward imports:\n  " + "\n  ".join(upward) + "\n" + _table(edges)


def test_no_two_packages_import_each_other() -> None:
    edges, _ = _unit_graph()
    assert _cycles(edges) == [], _table(edges)


def test_the_rules_the_seam_depends_on() -> None:
    """Spelled out, though the layers imply them: these are the arrows that were wrong once."""
    arrows, routes = _arrows()
    below_api = {unit for name, units in LAYERS[: _layer_of()["api"]] for unit in units}

    def offenders(sources: set[str], targets: set[str]) -> list[str]:
        return sorted(
            f"{a.source}:{a.line} -> {a.target}" for a in arrows
            if (a.source, a.target) not in HOOKS
            and _unit(a.source, routes) in sources and _unit(a.target, routes) in targets
        )  # fmt: skip

    assert offenders({"config"}, {"brokers"}) == []  # the seam is config.broker, not an adapter
    assert offenders(below_api, {"api", "cli"}) == []
    assert offenders({"enforcement", "state"}, {"api", "cli", "runtime", "daemon"}) == []
    assert offenders({"state"}, {"enforcement", "rules", "config", "pipeline"}) == []


def test_the_graph_sees_imports_of_every_kind() -> None:
    """The reader itself: relative, `from package import module`, inside functions."""
    arrows, routes = _arrows()
    seen = {(a.source, a.target) for a in arrows}
    assert ("risk_manager.assembly", "risk_manager.runtime") in seen
    assert ("risk_manager.daemon", "risk_manager.api.listen") in seen
    assert next(iter(HOOKS)) in seen  # imported inside a method
    assert routes == {
        "risk_manager.api.routers.admin", "risk_manager.api.routers.public",
        "risk_manager.api.routers.risk", "risk_manager.api.routers.trader",
        "risk_manager.brokers.simulated.routes",
    }  # fmt: skip
