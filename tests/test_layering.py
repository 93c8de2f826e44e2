"""The import layering of ``src/kstock``: which part may import which, and no import cycle between parts.

A part is a top-level package or module of ``kstock`` (``market``, ``config``, ...); the Alembic environment
``db/migrations`` is a part of its own (Alembic loads it from its path to register every table, and nothing imports
it). Every module is parsed with ``ast``, and every import counts: at the top, inside a function (a lazy import),
under ``TYPE_CHECKING``. docs/architecture.md draws the same layers.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import kstock

SOURCE: Final = Path(kstock.__file__).parent
MIGRATIONS: Final = "db.migrations"

# Lowest first. A part may import only parts of lower layers; parts of one layer do not import each other.
LAYERS: Final[tuple[tuple[str, ...], ...]] = (
    ("errors", "state"),  # the error vocabulary; the state accessor: neither imports anything of kstock
    ("kit", "config"),  # pure helpers and KRX rules; the settings
    ("logging", "db", "openapi", "broker", "sources"),  # infrastructure; channels and feed records as contracts
    ("identity",),  # principals, credentials, tiers
    ("gateway",),  # the HTTP edge: resolves callers with identity; rate limits, throttles, audit, metrics
    ("market",),  # market data, the snapshot, its columnar table, field catalog and condition language
    ("screener", "portfolio"),  # build on the market snapshot
    ("trading",),  # paper trading
    ("feed",),  # the simulator's process: steps the market, runs the trading engine beside it
    ("stream",),  # the WebSocket stream: ticks, live P&L, account events
    ("health", "api", "models"),  # probes, the /v1 mount, every model for Alembic
    ("runtime",),  # the application state: names every part's resources, so no part imports it
    ("app",),  # the application: wires every part
    ("cli",),  # the commands
    (MIGRATIONS,),  # the Alembic environment
)

# Pairs allowed to import each other against the layers above: none. A pair listed here must still be a cycle
# (the test says so once it is gone); a cycle not listed here fails the test.
KNOWN_CYCLES: Final[frozenset[frozenset[str]]] = frozenset()

RANK: Final = {part: rank for rank, layer in enumerate(LAYERS) for part in layer}


def part_of_path(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    if parts[:2] == ("db", "migrations"):
        return MIGRATIONS
    return parts[0]


def part_of_module(dotted: str) -> str | None:
    """The part a dotted module name belongs to; None outside kstock or for the ``kstock`` package itself."""
    names = dotted.split(".")
    if names[0] != "kstock" or len(names) < 2:
        return None
    if names[1:3] == ["db", "migrations"]:
        return MIGRATIONS
    return names[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, package: str) -> Iterable[str]:
    """Every module the code ``source`` of a module in ``package`` imports, wherever the import stands, relative
    imports resolved; ``from a import b`` yields ``a`` and ``a.b``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


@functools.cache
def import_graph() -> dict[str, dict[str, set[str]]]:
    """part -> imported part -> the files (relative to src/kstock) with such an import."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(SOURCE.rglob("*.py")):
        if path.parent == SOURCE and path.name == "__init__.py":
            continue  # the package's own module: its version
        source = part_of_path(path)
        graph[source]  # a part that imports nothing is still a part
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for module in imported_modules(path.read_text(encoding="utf-8"), package):
            target = part_of_module(module)
            if target is not None and target != source and _exists(target):
                graph[source][target].add(str(path.relative_to(SOURCE)))
    return graph


def _exists(part: str) -> bool:
    if part == MIGRATIONS:
        return (SOURCE / "db" / "migrations").is_dir()
    return (SOURCE / part).is_dir() or (SOURCE / f"{part}.py").is_file()


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one part (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _known(source: str, target: str) -> bool:
    """An import against the layers that a known cycle explains."""
    return frozenset({source, target}) in KNOWN_CYCLES and RANK.get(target, -1) >= RANK.get(source, -1)


def test_every_part_has_a_layer() -> None:
    unplaced = sorted(set(import_graph()) - set(RANK))
    assert not unplaced, f"place {unplaced} in LAYERS (tests/test_layering.py) and in docs/architecture.md"


def test_no_import_cycle_between_parts() -> None:
    graph = import_graph()
    edges = {source: {t for t in targets if not _known(source, t)} for source, targets in graph.items()}
    found = cycles(edges)
    details = [
        f"{source} -> {target}: {sorted(graph[source][target])}"
        for component in found
        for source in component
        for target in component
        if target in graph[source]
    ]
    assert not found, f"import cycles between parts: {found}\n" + "\n".join(details)


def test_imports_follow_the_layers() -> None:
    graph = import_graph()
    upward = [
        f"{source} (layer {RANK[source]}) imports {target} (layer {RANK[target]}) in {sorted(files)}"
        for source, targets in graph.items()
        for target, files in targets.items()
        if source in RANK and target in RANK and RANK[target] >= RANK[source] and not _known(source, target)
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_known_cycles_still_exist() -> None:
    """A cycle that is gone leaves the list, so that it cannot come back unnoticed."""
    graph = import_graph()
    gone = [
        sorted(pair)
        for pair in KNOWN_CYCLES
        if not all(target in graph.get(source, {}) for source in pair for target in pair if target != source)
    ]
    assert not gone, f"no longer cycles, remove them from KNOWN_CYCLES: {gone}"


def test_lazy_relative_and_type_checking_imports_count() -> None:
    probe = """
from typing import TYPE_CHECKING
from . import payloads
from ..trading import costs
if TYPE_CHECKING:
    from kstock.stream.hub import Hub

def attach():
    import kstock.market.snapshot
"""
    assert set(imported_modules(probe, "kstock.feed")) == {
        "typing",
        "typing.TYPE_CHECKING",
        "kstock.feed",
        "kstock.feed.payloads",
        "kstock.trading",
        "kstock.trading.costs",
        "kstock.stream.hub",
        "kstock.stream.hub.Hub",
        "kstock.market.snapshot",
    }
    assert part_of_module("kstock.db.migrations.env") == MIGRATIONS
    assert part_of_module("kstock.db.session") == "db"
    assert part_of_module("kstock") is None
