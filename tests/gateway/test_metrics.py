"""/metrics: Prometheus text with request, rate-limit, Redis-fallback and audit-failure series."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.gateway.metrics import UNMATCHED_ROUTE
from tests.gateway.helpers import engine_url, gateway_settings, metric, running_app
from tests.support.app import http_client
from tests.support.databases import DatabaseFactory


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one series in the text exposition (labels in any order)."""
    for line in exposition.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group(1))) == labels:
            return float(match.group(2))
    return 0.0


async def test_metrics_count_requests_by_route_template_and_limit_decisions(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), rate_limit_anonymous="2/hour")
    async with running_app(settings) as app, http_client(app, "192.0.2.80") as http:
        before = (await http.get("/metrics")).text
        for code in ("000001", "000002", "000003"):  # 404, 404, then 429: one series, not one per code
            await http.get(f"/v1/stocks/{code}")
        await http.get("/v1/nowhere")
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    template = {"method": "GET", "route": "/v1/stocks/{stock_code}"}
    assert delta("kstock_http_requests_total", **template, status="404") == 2
    assert delta("kstock_http_requests_total", **template, status="429") == 1
    assert delta("kstock_http_request_duration_seconds_count", **template, status="404") == 2
    assert sample(after, "kstock_http_request_duration_seconds_bucket", **template, status="404", le="+Inf") >= 2
    assert delta("kstock_http_requests_total", method="GET", route=UNMATCHED_ROUTE, status="404") == 1
    assert "/v1/stocks/000001" not in after
    assert delta("kstock_rate_limit_decisions_total", policy="anonymous", decision="allowed") == 2
    assert delta("kstock_rate_limit_decisions_total", policy="anonymous", decision="limited") == 1
    assert delta("kstock_rate_limit_decisions_total", policy="data", decision="allowed") == 3
    for family in ("kstock_redis_fallbacks_total", "kstock_audit_write_failures_total"):
        assert f"# TYPE {family} counter" in after


async def test_metrics_agree_with_the_registry(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app, http_client(app) as http:
        await http.get("/health")
        exposition = (await http.get("/metrics")).text

    value = metric("kstock_http_requests_total", method="GET", route="/health", status="200")
    assert value >= 1
    assert sample(exposition, "kstock_http_requests_total", method="GET", route="/health", status="200") == value


async def test_metrics_can_be_turned_off(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine), metrics_enabled=False)
    async with running_app(settings) as app, http_client(app) as http:
        response = await http.get("/metrics")

    assert response.status_code == 404
