"""The engine against a reference: random filter sets, nested conditions and sort orders over the demo market
must select exactly the rows, in exactly the order, that plain Python computes from the database's rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.market.fields import CATEGORY_FIELDS, FLAG_FIELDS, NUMERIC_FIELDS, SORTABLE
from kstock.market.snapshot import MarketSnapshot
from kstock.screener.engine import compile_screen, run, select_rows
from kstock.screener.schemas import ScreenDefinition

Row = dict[str, Any]


class Rows(list[Row]):
    """The reference rows; a short repr keeps hypothesis from printing the whole market in every strategy."""

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"


NUMERIC = [f.name for f in NUMERIC_FIELDS]
CATEGORIES = [f.name for f in CATEGORY_FIELDS]
FLAGS = [f.name for f in FLAG_FIELDS]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(demo_engine: AsyncEngine) -> AsyncIterator[tuple[MarketSnapshot, list[Row]]]:
    snapshot = MarketSnapshot()
    await snapshot.load(demo_engine)
    async with demo_engine.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT i.code, i.name, i.market, i.sector, i.industry, i.status, i.shares_outstanding, s.*"
                " FROM instruments i LEFT JOIN stock_indicators s ON s.code = i.code ORDER BY i.code"
            )
        )
        rows = Rows(dict(r._mapping) for r in result)
    for row in rows:
        row["eps"] = row["eps_ttm"]
        row["profitable"] = None if row["eps_ttm"] is None else row["eps_ttm"] > 0
        row["pays_dividend"] = None if row["dps"] is None else row["dps"] > 0
        row["halted"] = row["status"] == "halted"
    yield snapshot, rows


# -- the reference: plain Python, three-valued like SQL ----------------------------------------------------------

_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def holds(node: dict[str, Any], row: Row) -> bool | None:
    if "and" in node or "or" in node:
        results = [holds(child, row) for child in node.get("and", node.get("or", []))]
        if "and" in node:
            return False if False in results else (None if None in results else True)
        return True if True in results else (None if None in results else False)
    if "not" in node:
        inner = holds(node["not"], row)
        return None if inner is None else not inner
    value = row[node["field"]]
    if "other" in node:
        other = row[node["other"]]
        return None if value is None or other is None else _OPS[node["op"]](value, other)
    if value is None:
        return None
    op, operand = node["op"], node["value"]
    if op == "between":
        return bool(operand[0] <= value <= operand[1])
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    return bool(_OPS[op](value, operand))


def filter_nodes(filters: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    nodes = []
    for name, spec in filters.items():
        if "in" in spec or "not_in" in spec:
            op = "in" if "in" in spec else "not_in"
            nodes.append({"field": name, "op": op, "value": spec[op]})
        elif "eq" in spec:
            nodes.append({"field": name, "op": "==", "value": spec["eq"]})
        else:
            if spec.get("min") is not None:
                nodes.append({"field": name, "op": ">=", "value": spec["min"]})
            if spec.get("max") is not None:
                nodes.append({"field": name, "op": "<=", "value": spec["max"]})
    return nodes


def reference(rows: list[Row], body: dict[str, Any]) -> list[str]:
    nodes = filter_nodes(body.get("filters", {}))
    if body.get("where") is not None:
        nodes.append(body["where"])
    market = body.get("market", "ALL")
    selected = [
        r
        for r in rows
        if r["status"] != "delisted"
        and (market == "ALL" or r["market"] == market)
        and all(holds(node, r) is True for node in nodes)
    ]
    sort_by, descending = body.get("sort_by", "market_cap"), body.get("order", "desc") == "desc"
    if sort_by == "code":
        codes = [r["code"] for r in selected]  # rows come sorted by code
        return codes[::-1] if descending else codes
    present = [r for r in selected if r[sort_by] is not None]
    missing = [r for r in selected if r[sort_by] is None]
    present.sort(key=lambda r: r[sort_by], reverse=descending)  # stable both ways: ties stay in code order
    return [r["code"] for r in present + missing]


# -- strategies --------------------------------------------------------------------------------------------------


def observed(rows: list[Row], name: str) -> list[Any]:
    return sorted({r[name] for r in rows if r[name] is not None}) or [0]


@st.composite
def numbers_for(draw: st.DrawFn, rows: list[Row], name: str) -> float:
    """A bound: often a value some stock has (edges matter), sometimes any number."""
    values = observed(rows, name)
    return draw(st.one_of(st.sampled_from(values), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)))


@st.composite
def leaves(draw: st.DrawFn, rows: list[Row]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["compare", "compare", "between", "other", "category", "flag", "members"]))
    if kind in ("compare", "between", "other", "members"):
        name = draw(st.sampled_from(NUMERIC))
        if kind == "compare":
            return {"field": name, "op": draw(st.sampled_from(list(_OPS))), "value": draw(numbers_for(rows, name))}
        if kind == "other":
            other = draw(st.sampled_from(NUMERIC))
            return {"field": name, "op": draw(st.sampled_from(list(_OPS))), "other": other}
        if kind == "members":
            values = draw(st.lists(st.sampled_from(observed(rows, name)), min_size=1, max_size=4))
            return {"field": name, "op": draw(st.sampled_from(["in", "not_in"])), "value": values}
        low, high = sorted([draw(numbers_for(rows, name)), draw(numbers_for(rows, name))])
        return {"field": name, "op": "between", "value": [low, high]}
    if kind == "flag":
        return {
            "field": draw(st.sampled_from(FLAGS)),
            "op": draw(st.sampled_from(["==", "!="])),
            "value": draw(st.booleans()),
        }
    name = draw(st.sampled_from(CATEGORIES))
    labels = observed(rows, name) + ["(none such)"]
    if draw(st.booleans()):
        return {"field": name, "op": draw(st.sampled_from(["==", "!="])), "value": draw(st.sampled_from(labels))}
    values = draw(st.lists(st.sampled_from(labels), min_size=1, max_size=3))
    return {"field": name, "op": draw(st.sampled_from(["in", "not_in"])), "value": values}


def conditions(rows: list[Row]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaves(rows),
        lambda children: st.one_of(
            st.builds(lambda c: {"and": c}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda c: {"or": c}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda c: {"not": c}, children),
        ),
        max_leaves=8,
    )


@st.composite
def filter_sets(draw: st.DrawFn, rows: list[Row]) -> dict[str, dict[str, Any]]:
    filters: dict[str, dict[str, Any]] = {}
    for name in draw(st.lists(st.sampled_from(NUMERIC + CATEGORIES + FLAGS), max_size=4, unique=True)):
        if name in FLAGS:
            filters[name] = {"eq": draw(st.booleans())}
        elif name in CATEGORIES:
            values = draw(st.lists(st.sampled_from(observed(rows, name)), min_size=1, max_size=3))
            filters[name] = {draw(st.sampled_from(["in", "not_in"])): values}
        else:
            low, high = sorted([draw(numbers_for(rows, name)), draw(numbers_for(rows, name))])
            spec = {"min": low, "max": high}
            drop = draw(st.sampled_from([None, "min", "max"]))
            if drop:
                del spec[drop]
            filters[name] = spec
    return filters


@st.composite
def screens(draw: st.DrawFn, rows: list[Row]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "market": draw(st.sampled_from(["ALL", "KOSPI", "KOSDAQ", "KONEX"])),
        "filters": draw(filter_sets(rows)),
        "sort_by": draw(st.sampled_from([s for s in SORTABLE if s != "name"])),
        "order": draw(st.sampled_from(["asc", "desc"])),
    }
    if draw(st.booleans()):
        body["where"] = draw(conditions(rows))
    return body


@pytest.mark.slow
async def test_engine_matches_the_reference(market: tuple[MarketSnapshot, list[Row]]) -> None:
    snapshot, rows = market

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=screens(rows), page=st.integers(1, 5), per_page=st.integers(1, 30))
    def check(body: dict[str, Any], page: int, per_page: int) -> None:
        query = compile_screen(ScreenDefinition.model_validate(body))
        expected = reference(rows, body)
        codes = [snapshot.table.codes[i] for i in select_rows(snapshot.table, query).tolist()]
        assert codes == expected, body
        offset = (page - 1) * per_page
        result = run(snapshot.table, query, offset, per_page)
        assert result.total == len(expected)
        assert [s["code"] for s in result.stocks] == expected[offset : offset + per_page]

    check()


async def test_the_reference_sees_every_kind_of_value(market: tuple[MarketSnapshot, list[Row]]) -> None:
    """The demo market exercises the interesting cases: nulls, loss-makers, several markets and sectors."""
    _, rows = market
    assert any(r["per"] is None and r["close_price"] is not None for r in rows)
    assert len({r["market"] for r in rows}) == 3
    assert len({r["sector"] for r in rows}) > 5
