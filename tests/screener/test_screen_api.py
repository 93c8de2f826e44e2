"""POST /v1/screen and GET /v1/screen/fields over the demo market: the spec's request, every kind of condition,
and every kind of bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from kstock.screener.schemas import SPEC_EXAMPLE
from tests.support.app import Live, assert_error

REQUIRED_FIELDS = (
    "per pbr psr roe roa eps bps dividend_yield market_cap close_price change_pct volume avg_volume_20d turnover "
    "operating_margin net_margin debt_ratio revenue_growth_yoy eps_growth_yoy return_1m return_3m return_1y "
    "pct_from_52w_high pct_from_52w_low rsi_14 sma_20 sma_60 sma_120 price_vs_sma_20 price_vs_sma_60 "
    "price_vs_sma_120 quality_score value_score growth_score sector industry market"
).split()


async def screen(live: Live, body: dict[str, Any]) -> dict[str, Any]:
    response = await live.http.post("/v1/screen", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def everything(live: Live, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a screen, concatenated."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        result = await screen(live, {**body, "page": page, "per_page": 100})
        rows += result["stocks"]
        if page >= result["meta"]["pages"]:
            return rows
        page += 1


async def test_the_spec_example(demo_live: Live) -> None:
    body = {**SPEC_EXAMPLE, "filters": {**SPEC_EXAMPLE["filters"], "quality_score": {"min": 40}}}
    result = await screen(demo_live, body)
    meta = result["meta"]
    assert set(meta) == {"page", "per_page", "total", "pages", "query_time_ms", "as_of"}
    assert meta["per_page"] == 50
    assert meta["page"] == 1
    assert 0 <= meta["query_time_ms"] < 1000
    stocks = result["stocks"]
    assert stocks, "the demo market has cheap, profitable dividend payers"
    assert len(stocks) == meta["total"]
    for stock in stocks:
        assert {"code", "name", "close_price", "per", "pbr", "roe", "dividend_yield", "quality_score"} <= set(stock)
        assert stock["market"] == "KOSPI"
        assert 0 <= stock["per"] <= 15
        assert 0 <= stock["pbr"] <= 1.5
        assert stock["roe"] >= 10
        assert stock["dividend_yield"] >= 3
        assert stock["quality_score"] >= 40
        assert isinstance(stock["close_price"], int)
        assert isinstance(stock["market_cap"], int)
    caps = [s["market_cap"] for s in stocks]
    assert caps == sorted(caps, reverse=True)


async def test_an_empty_screen_is_the_whole_market_paged(demo_live: Live) -> None:
    listed = (await demo_live.http.get("/v1/stocks?per_page=1")).json()["meta"]["total"]
    result = await screen(demo_live, {})
    assert result["meta"]["total"] == listed
    assert result["meta"]["pages"] == -(-listed // 50)
    assert len(result["stocks"]) == 50
    rows = await everything(demo_live, {})
    assert len({r["code"] for r in rows}) == listed


async def test_fields_choose_the_columns_and_code_and_name_always_come(demo_live: Live) -> None:
    result = await screen(demo_live, {"fields": ["rsi_14", "sector"], "per_page": 3})
    assert all(list(s) == ["code", "name", "rsi_14", "sector"] for s in result["stocks"])
    default = await screen(demo_live, {"filters": {"rsi_14": {"min": 0}}, "sort_by": "return_3m", "per_page": 1})
    assert {"rsi_14", "return_3m", "quality_score", "close_price"} <= set(default["stocks"][0])


async def test_categories_flags_and_nested_logic(demo_live: Live) -> None:
    fields = await demo_live.http.get("/v1/screen/fields")
    sectors = next(f for f in fields.json()["fields"] if f["name"] == "sector")["values"]
    chosen = sectors[:2]
    rows = await everything(demo_live, {"filters": {"sector": {"in": chosen}, "profitable": {"eq": True}}})
    assert rows
    assert all(r["sector"] in chosen for r in rows)
    details = [(await demo_live.http.get(f"/v1/stocks/{r['code']}")).json() for r in rows[:5]]
    assert all(d["indicators"]["eps"] > 0 for d in details)

    where = {
        "and": [
            {"field": "close_price", "op": ">", "other": "sma_60"},
            {"or": [{"field": "per", "op": "<", "value": 12}, {"field": "pbr", "op": "<", "value": 0.8}]},
            {"not": {"field": "sector", "op": "in", "value": chosen}},
        ]
    }
    rows = await everything(demo_live, {"where": where, "fields": ["close_price", "sma_60", "per", "pbr", "sector"]})
    assert rows
    for r in rows:
        assert r["close_price"] > r["sma_60"]
        assert (r["per"] is not None and r["per"] < 12) or (r["pbr"] is not None and r["pbr"] < 0.8)
        assert r["sector"] is not None
        assert r["sector"] not in chosen


async def test_nulls_sort_last_in_both_directions(demo_live: Live) -> None:
    for order in ("asc", "desc"):
        rows = await everything(demo_live, {"sort_by": "per", "order": order, "fields": ["per"]})
        values = [r["per"] for r in rows]
        present = [v for v in values if v is not None]
        assert None in values, "the demo market has loss-makers"
        assert values == present + [None] * (len(values) - len(present))
        assert present == sorted(present, reverse=order == "desc")


async def test_the_fields_catalog(demo_live: Live) -> None:
    response = await demo_live.http.get("/v1/screen/fields")
    assert response.status_code == 200
    fields = {f["name"]: f for f in response.json()["fields"]}
    assert set(REQUIRED_FIELDS) <= set(fields)
    assert fields["per"] == {
        "name": "per",
        "type": "number",
        "unit": "x",
        "group": "valuation",
        "description": fields["per"]["description"],
        "sortable": True,
        "filterable": True,
        "operators": ["<", "<=", ">", ">=", "==", "!=", "between", "in", "not_in"],
        "values": None,
    }
    assert fields["market_cap"]["type"] == "integer"
    assert fields["market_cap"]["unit"] == "KRW"
    assert fields["market"]["values"] == ["KONEX", "KOSDAQ", "KOSPI"]
    assert fields["sector"]["sortable"] is False
    assert fields["sector"]["operators"] == ["==", "!=", "in", "not_in"]
    assert fields["profitable"]["type"] == "boolean"
    assert all(f["description"] for f in fields.values())


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "per", "op": ">", "value": 0}
    for _ in range(depth - 1):
        node = {"not": node}
    return node


@pytest.mark.parametrize(
    ("body", "status", "code", "detail_key"),
    [
        ({"filters": {"pex": {"min": 1}}}, 400, "VALIDATION_ERROR", "filters.pex"),
        ({"where": {"field": "pex", "op": "<", "value": 1}}, 400, "VALIDATION_ERROR", "where.field"),
        ({"filters": {"per": {"min": 15, "max": 0}}}, 422, "INVALID_RANGE", "filters.per"),
        ({"where": {"field": "per", "op": "between", "value": [9, 1]}}, 422, "INVALID_RANGE", "where"),
        ({"filters": {"per": {"min": "abc"}}}, 400, "VALIDATION_ERROR", "filters.per.min"),
        ({"filters": {"per": {"max": True}}}, 400, "VALIDATION_ERROR", "filters.per.max"),
        ({"filters": {"per": {"min": "5"}}}, 400, "VALIDATION_ERROR", "filters.per.min"),
        ({"where": {"field": "per", "op": "<", "value": "cheap"}}, 400, "VALIDATION_ERROR", "where"),
        ({"per_page": 101}, 400, "VALIDATION_ERROR", "per_page"),
        ({"per_page": 0}, 400, "VALIDATION_ERROR", "per_page"),
        ({"page": 0}, 400, "VALIDATION_ERROR", "page"),
        ({"where": nested(9)}, 400, "VALIDATION_ERROR", "where" + ".not" * 8),
        (
            {"where": {"or": [{"field": "per", "op": ">", "value": i} for i in range(51)]}},
            400,
            "VALIDATION_ERROR",
            "where",
        ),
        ({"sort_by": "sector"}, 400, "VALIDATION_ERROR", "sort_by"),
        ({"sort_by": "nope"}, 400, "VALIDATION_ERROR", "sort_by"),
        ({"fields": ["per", "nope"]}, 400, "VALIDATION_ERROR", "fields"),
        ({"market": "NYSE"}, 400, "VALIDATION_ERROR", "market"),
        ({"order": "up"}, 400, "VALIDATION_ERROR", "order"),
        ({"filters": {"sector": {"min": 1}}}, 400, "VALIDATION_ERROR", "filters.sector"),
        ({"filters": {"per": {"min": 1, "in": [1]}}}, 400, "VALIDATION_ERROR", "filters.per"),
        ({"filters": {"per": {}}}, 400, "VALIDATION_ERROR", "filters.per"),
        ({"filters": {"per": {"gt": 1}}}, 400, "VALIDATION_ERROR", "filters.per.gt"),
        ({"filters": {"profitable": {"eq": "yes"}}}, 400, "VALIDATION_ERROR", "filters.profitable.eq"),
        ({"filters": {"sector": {"in": [1, 2]}}}, 400, "VALIDATION_ERROR", "filters.sector.in"),
        ({"where": {"and": []}}, 400, "VALIDATION_ERROR", "where.and"),
        ({"where": {"and": [], "or": []}}, 400, "VALIDATION_ERROR", "where"),
        ({"where": [1]}, 400, "VALIDATION_ERROR", "where"),
        ({"where": {"field": "sector", "op": "<", "value": "a"}}, 400, "VALIDATION_ERROR", "where"),
        ({"where": {"field": "per", "op": "<", "other": "sector"}}, 400, "VALIDATION_ERROR", "where"),
        ({"where": {"field": "per", "op": "<", "value": 1, "other": "pbr"}}, 400, "VALIDATION_ERROR", "where"),
        ({"where": {"field": "per", "op": "~", "value": 1}}, 400, "VALIDATION_ERROR", "where"),
        ({"unexpected": 1}, 400, "VALIDATION_ERROR", "unexpected"),
    ],
)
async def test_bad_input(demo_live: Live, body: dict[str, Any], status: int, code: str, detail_key: str) -> None:
    error = assert_error(await demo_live.http.post("/v1/screen", json=body), status, code)
    assert detail_key in error["details"], error


async def test_unknown_fields_are_answered_with_the_valid_ones(demo_live: Live) -> None:
    error = assert_error(
        await demo_live.http.post("/v1/screen", json={"filters": {"pex": {"max": 10}}}), 400, "VALIDATION_ERROR"
    )
    assert "per" in error["details"]["valid_fields"]
    assert "quality_score" in error["details"]["valid_fields"]
    assert "pex" in error["message"]


async def test_the_deepest_and_largest_conditions_allowed(demo_live: Live) -> None:
    await screen(demo_live, {"where": nested(8)})
    await screen(demo_live, {"where": {"or": [{"field": "per", "op": ">", "value": i} for i in range(50)]}})


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[]", b'"x"', b"null", b'{"per_page": NaN}', b'{"filters": {"per": {"min": NaN}}}', b"[" * 100_000],
)
async def test_malformed_bodies_get_the_error_format(demo_live: Live, raw: bytes) -> None:
    response = await demo_live.http.post("/v1/screen", content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert set(response.json()) == {"error", "message", "details", "timestamp", "path", "request_id"}


async def test_an_oversized_body_is_refused(demo_live: Live) -> None:
    limit = demo_live.settings.max_body_bytes
    body = b'{"fields": ["' + b"x" * limit + b'"]}'
    declared = await demo_live.http.post("/v1/screen", content=body, headers={"content-type": "application/json"})
    assert assert_error(declared, 413, "PAYLOAD_TOO_LARGE")["details"] == {"max_body_bytes": limit}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    streamed = await demo_live.http.post("/v1/screen", content=chunks(), headers={"content-type": "application/json"})
    assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")


async def test_the_openapi_document_has_examples(demo_live: Live) -> None:
    spec = (await demo_live.http.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/screen"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert examples["spec"]["value"]["filters"]["per"] == {"min": 0, "max": 15}
    for path in ("/v1/screen/fields", "/v1/screens", "/v1/screens/{screen_id}", "/v1/screens/{screen_id}/run"):
        assert path in spec["paths"]


async def test_delisted_stocks_are_never_screened_and_unpriced_ones_sort_last(saved_live: Live) -> None:
    """The hand-made market: 7 instruments, one delisted (999990), one without a bar (005935)."""
    rows = (await saved_live.http.post("/v1/screen", json={"sort_by": "close_price", "order": "asc"})).json()
    codes = [s["code"] for s in rows["stocks"]]
    assert rows["meta"]["total"] == 6
    assert "999990" not in codes
    assert codes[-1] == "005935"
    assert rows["stocks"][-1]["close_price"] is None
    assert rows["meta"]["as_of"] == "2025-01-10"
    # A condition on a missing value is unknown: neither it nor its negation selects the unpriced stock.
    for where in (
        {"field": "close_price", "op": ">", "value": 0},
        {"not": {"field": "close_price", "op": ">", "value": 0}},
    ):
        result = (await saved_live.http.post("/v1/screen", json={"where": where})).json()
        assert "005935" not in [s["code"] for s in result["stocks"]]
