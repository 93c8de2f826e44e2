"""The OpenAPI document against the running app: schemathesis, every check, signed in, on each backend.

Schemathesis generates requests from the document (its examples, then positive and negative data) and checks
every answer against it: status codes and bodies as declared, negative data refused, valid data accepted, no
server error, required headers, the Allow header of a 405. A failure means the document and the code disagree.
The run is bounded and derandomized: a handful of examples per operation, the same ones on every run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.python import asgi

from kstock.app import create_app
from kstock.config import Settings
from tests.support.app import lifespan_client
from tests.support.databases import DatabaseFactory
from tests.support.seed import seed_market

pytestmark = pytest.mark.contract

PASSWORD = "lantern-orbit-quartz-71"  # not any example of the document: generated requests must not guess it


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def contract_settings(db_factory: DatabaseFactory) -> AsyncIterator[tuple[Settings, str]]:
    """A seeded database of its own (the run writes) and the access token of a registered user."""
    settings = await db_factory.settings("contract")
    await seed_market(settings)
    app = create_app(settings)
    async with lifespan_client(app) as http:
        body = {"email": "tester@example.com", "password": PASSWORD, "name": "contract"}
        response = await http.post("/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
    yield settings, response.json()["access_token"]


# Every check runs. Two settings say what the document cannot (429 stays allowed: a rate limit refuses anything):
# - valid data may meet a 422: the document declares it where an operation refuses well-formed requests that
#   make no sense (a date range that runs backwards, selling more than is held, a rejected order);
# - on the operations below, a request the schema allows may still be a 400 VALIDATION_ERROR, for rules that a
#   JSON Schema does not express: the screener's condition language (which operators and values each field
#   takes), the password policy (no common passwords, not the e-mail's local part), the current password, an
#   order's rules (a limit order's price), a strategy's parameters (each strategy has its own), an API key's
#   expiry (in the future: a matter of the clock), an e-mail address (email-validator also refuses special-use
#   domains such as .test, which the `email` format allows), a portfolio entry's dates and price (a purchase date
#   not in the future, a trade date that is a KRX trading day, a price on the tick grid).
CHECKS = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = [
  "POST /v1/screen", "POST /v1/screens", "PUT /v1/screens/{screen_id}",
  "POST /v1/auth/register", "POST /v1/auth/login", "PATCH /v1/users/me", "POST /v1/api-keys",
  "POST /v1/trading/accounts/{account_id}/orders/preview", "POST /v1/trading/accounts/{account_id}/orders/execute",
  "POST /v1/trading/accounts/{account_id}/strategies",
  "POST /v1/portfolios/{portfolio_id}/holdings", "POST /v1/portfolios/{portfolio_id}/transactions",
]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]
"""
CONFIG = SchemathesisConfig.from_str(CHECKS)

# The document does not depend on the database: it is loaded once, from an app that never starts.
schema = schemathesis.openapi.from_dict(create_app(Settings(env="testing")).openapi(), config=CONFIG).exclude(
    path="/v1/auth/logout"  # logging out would end the token every other request is made with
)


@pytest.fixture(scope="module")
def contract_app(contract_settings: tuple[Settings, str]) -> Iterator[FastAPI]:
    """The app the requests go to, started (lifespan) on first use by schemathesis and stopped at the end."""
    app = create_app(contract_settings[0])
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def auth_headers(contract_settings: tuple[Settings, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {contract_settings[1]}"}


@schema.parametrize()
@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_conforms_to_its_document(
    case: schemathesis.Case[Any], contract_app: FastAPI, auth_headers: dict[str, str]
) -> None:
    case.operation.schema.app = contract_app
    case.call_and_validate(headers=auth_headers, app=contract_app)


def test_api_conforms_across_operations(contract_app: FastAPI, contract_settings: tuple[Settings, str]) -> None:
    """Sequences of calls linked by the ids they create (a portfolio, then its holdings...), run by schemathesis'
    engine: the stateful checks (a deleted resource is gone, a created one can be read) and every other one."""
    stateful = SchemathesisConfig.from_str(
        f"""
seed = 7
headers = {{ Authorization = "Bearer {contract_settings[1]}" }}
[generation]
max-examples = 20
[phases.examples]
enabled = false
[phases.coverage]
enabled = false
[phases.fuzzing]
enabled = false
[phases.stateful]
enabled = true
max-steps = 8
"""
        + CHECKS
    )
    loaded = schemathesis.openapi.from_dict(schema.raw_schema, config=stateful).exclude(path="/v1/auth/logout")
    loaded.app = contract_app
    failures = []
    for event in engine.from_schema(loaded).execute():
        if isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {event}")
        elif isinstance(event, events.ScenarioFinished):
            for checks in event.recorder.checks.values():
                failures.extend(
                    f"{check.failure_info.failure.operation}: {check.name}: {check.failure_info.failure.title}: "
                    f"{check.failure_info.failure.message[:300]} {check.failure_info.code_sample[-300:]}"
                    for check in checks
                    if check.status == Status.FAILURE and check.failure_info is not None
                )
    assert failures == []
