"""GET /v1/stocks, /v1/stocks/{code} and /v1/stocks/search against the hand-made market."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.seed import TTM_EPS, TTM_NET_PROFIT

ALL_CODES = ["000660", "005930", "005935", "0126Z0", "035420", "123450", "999990"]


async def get_json(client: httpx.AsyncClient, url: str, status: int = 200) -> Any:
    response = await client.get(url)
    assert response.status_code == status, response.text
    return response.json()


async def test_list_defaults_to_every_stock_by_code(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks")
    assert [s["code"] for s in body["stocks"]] == ALL_CODES
    assert body["meta"] == {"page": 1, "per_page": 50, "total": 7, "pages": 1}
    samsung = body["stocks"][1]
    assert samsung == {
        "code": "005930",
        "name": "삼성전자",
        "market": "KOSPI",
        "sector": "전기전자",
        "industry": "반도체",
        "latest_price": {
            "close_price": 53_400,
            "change_pct": -3.09,
            "volume": 17_000,
            "turnover": 53_400 * 17_000,  # no traded value in the seed: close x volume
            "market_cap": 53_400 * 5_969_782_550,
            "trade_date": "2025-01-10",
        },
    }
    assert body["stocks"][2]["latest_price"] is None  # 005935 has no bars


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("market=KOSPI", ["000660", "005930", "005935", "035420"]),
        ("market=kosdaq", ["0126Z0", "999990"]),
        ("market=KONEX", ["123450"]),
        ("market=ALL&sector=전기전자", ["000660", "005930", "005935", "999990"]),
        ("market=KOSPI&sector=서비스업", ["035420"]),
        ("sector=없는업종", []),
    ],
)
async def test_list_filters(client: httpx.AsyncClient, query: str, codes: list[str]) -> None:
    body = await get_json(client, f"/v1/stocks?{query}")
    assert [s["code"] for s in body["stocks"]] == codes
    assert body["meta"]["total"] == len(codes)


async def test_list_pages(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks?per_page=3&page=3")
    assert [s["code"] for s in body["stocks"]] == ["999990"]
    assert body["meta"] == {"page": 3, "per_page": 3, "total": 7, "pages": 3}
    beyond = await get_json(client, "/v1/stocks?per_page=3&page=4")
    assert beyond["stocks"] == []
    assert beyond["meta"]["total"] == 7


async def test_list_sorts_by_market_cap_with_nulls_last(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks?sort_by=market_cap&order=desc")
    codes = [s["code"] for s in body["stocks"]]
    assert codes[:5] == ["005930", "000660", "035420", "0126Z0", "123450"]
    assert set(codes[5:]) == {"005935", "999990"}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("per_page=101", "per_page", "must be between 1 and 100"),
        ("per_page=0", "per_page", "must be between 1 and 100"),
        ("per_page=ten", "per_page", "must be an integer"),
        ("page=0", "page", "must be between 1 and 100000"),
        ("market=NYSE", "market", "must be one of: KOSPI, KOSDAQ, KONEX, ALL"),
        ("sort_by=price", "sort_by", "must be one of: code, name, market_cap, close_price, change_pct, volume"),
        ("order=up", "order", "must be one of: asc, desc"),
    ],
)
async def test_list_rejects_bad_parameters(client: httpx.AsyncClient, query: str, field: str, message: str) -> None:
    body = await get_json(client, f"/v1/stocks?{query}", 400)
    assert body["error"] == "VALIDATION_ERROR"
    assert body["message"] == "Invalid request parameters"
    assert body["details"] == {field: [message]}
    assert body["path"] == "/v1/stocks"


async def test_list_reports_every_bad_parameter_at_once(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks?per_page=500&market=NYSE", 400)
    assert body["details"] == {
        "per_page": ["must be between 1 and 100"],
        "market": ["must be one of: KOSPI, KOSDAQ, KONEX, ALL"],
    }


async def test_detail_has_hand_computed_indicators(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005930")
    assert body["code"] == "005930"
    assert body["isin"] == "KR7005930003"
    assert body["listing_date"] == "1975-06-11"
    assert body["status"] == "active"
    assert body["latest_price"]["close_price"] == 53_400
    indicators = body["indicators"]
    assert indicators["eps"] == TTM_EPS == 4_400
    assert indicators["per"] == round(53_400 / 4_400, 2) == 12.14
    assert indicators["bps"] == 49_500
    assert indicators["pbr"] == round(53_400 / 49_500, 2) == 1.08
    assert indicators["roe"] == round(TTM_NET_PROFIT / 300_000_000_000_000 * 100, 2) == 9.11
    assert indicators["dps"] == 1_444
    assert indicators["dividend_yield"] == round(1_444 / 53_400 * 100, 2) == 2.7
    assert indicators["high_52w"] == 56_500
    assert indicators["low_52w"] == 52_800
    # The only stock with statements: every percentile of a one-stock universe is 50 (docs/api/scores.md).
    assert indicators["quality_score"] == 50.0


async def test_detail_of_stock_without_bars_or_financials(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005935")
    assert body["latest_price"] is None
    assert body["indicators"] is None
    hynix = await get_json(client, "/v1/stocks/000660")
    assert hynix["indicators"]["per"] is None  # no financials on file
    assert hynix["latest_price"]["change_pct"] == round((199_900 - 193_000) / 193_000 * 100, 2)


async def test_detail_accepts_alphanumeric_and_lower_case_codes(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/0126z0")
    assert body["code"] == "0126Z0"
    assert body["segment"] == "벤처기업부"


@pytest.mark.parametrize("code", ["00593", "0059300", "abc!de", "삼성전자"])
async def test_detail_rejects_malformed_codes(client: httpx.AsyncClient, code: str) -> None:
    body = await get_json(client, f"/v1/stocks/{code}", 400)
    assert body["error"] == "VALIDATION_ERROR"
    assert "stock_code" in body["details"]


async def test_detail_of_unknown_code_is_404(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/000000", 404)
    assert body["error"] == "STOCK_NOT_FOUND"
    assert body["details"] == {"stock_code": "000000"}


async def test_fields_selects_nested_fields(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks?fields=name,latest_price.close_price&per_page=3")
    assert body["stocks"] == [
        {"code": "000660", "name": "SK하이닉스", "latest_price": {"close_price": 199_900}},
        {"code": "005930", "name": "삼성전자", "latest_price": {"close_price": 53_400}},
        {"code": "005935", "name": "삼성전자우", "latest_price": None},
    ]
    detail = await get_json(client, "/v1/stocks/005930?fields=indicators.per,latest_price,market")
    assert detail == {
        "code": "005930",
        "market": "KOSPI",
        "indicators": {"per": 12.14},
        "latest_price": {
            "close_price": 53_400,
            "change_pct": -3.09,
            "volume": 17_000,
            "turnover": 53_400 * 17_000,  # no traded value in the seed: close x volume
            "market_cap": 53_400 * 5_969_782_550,
            "trade_date": "2025-01-10",
        },
    }


async def test_unknown_field_lists_valid_ones(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks?fields=code,price", 400)
    message = body["details"]["fields"][0]
    assert message.startswith("unknown: price; valid fields: ")
    assert "latest_price.close_price" in message
    detail = await get_json(client, "/v1/stocks/005930?fields=indicators.nope", 400)
    assert "indicators.per" in detail["details"]["fields"][0]


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("q=삼성", ["005930", "005935"]),
        ("q=0059", ["005930", "005935"]),
        ("q=005935", ["005935"]),
        ("q=naver", ["035420"]),
        ("q=NAV", ["035420"]),
        ("q=hynix", ["000660"]),
        ("q=sk", ["000660"]),
        ("q=0126z", ["0126Z0"]),
        ("q=바이오", ["0126Z0"]),
        ("q=전자&market=KOSDAQ", ["999990"]),
        ("q=전자&limit=1", ["005930"]),
        ("q=%25", []),
        ("q=_", []),
        ("q=%20", []),
    ],
)
async def test_search(client: httpx.AsyncClient, query: str, codes: list[str]) -> None:
    body = await get_json(client, f"/v1/stocks/search?{query}")
    assert [s["code"] for s in body["stocks"]] == codes
    assert body["meta"]["count"] == len(codes)


async def test_search_ranks_exact_code_first(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/search?q=00593")
    assert [s["code"] for s in body["stocks"]] == ["005930", "005935"]
    assert body["stocks"][0] == {
        "code": "005930",
        "name": "삼성전자",
        "name_en": "Samsung Electronics",
        "market": "KOSPI",
        "sector": "전기전자",
        "status": "active",
    }


@pytest.mark.parametrize(("query", "field"), [("", "q"), ("q=", "q"), ("q=" + "x" * 51, "q"), ("q=a&limit=0", "limit")])
async def test_search_rejects_bad_queries(client: httpx.AsyncClient, query: str, field: str) -> None:
    body = await get_json(client, f"/v1/stocks/search?{query}", 400)
    assert field in body["details"]
