"""Users and their credentials: accounts made through the service and signed in over HTTP, or users written
straight into the database with a token minted for them (and API keys)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.config import Settings
from kstock.db.engine import create_sessionmaker
from kstock.identity import service
from kstock.identity.models import ApiKey, User
from kstock.identity.principal import Role, Tier
from kstock.identity.security import create_access_token, new_secret, secret_digest
from tests.support.app import Live, app_state

PASSWORD = "correct-horse-battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Account:
    """An account signed in over HTTP."""

    id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


async def login(live: Live, email: str, password: str = PASSWORD) -> Account:
    response = await live.http.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(uuid.UUID(body["user"]["id"]), email, password, body["access_token"], body["refresh_token"])


async def make_account(
    live: Live, email: str, *, tier: Tier = Tier.FREE, role: Role = Role.USER, password: str = PASSWORD
) -> Account:
    """An account made through the service (as the CLI does), signed in over HTTP."""
    async with app_state(live.app).sessionmaker() as session:
        await service.create_user(session, email, password, "Test User", tier=tier, role=role)
        await session.commit()
    return await login(live, email, password)


async def api_key(live: Live, account: Account, *scopes: str) -> dict[str, str]:
    """A new API key of ``account`` with ``scopes``, made over HTTP: the header that presents it."""
    response = await live.http.post(
        "/v1/api-keys", json={"name": "-".join(scopes), "scopes": list(scopes)}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


@dataclass(frozen=True)
class MintedUser:
    """A user written straight into the database, and an access token minted for it (no password, no HTTP)."""

    user_id: uuid.UUID
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return bearer(self.token)


async def make_user(
    settings: Settings, engine: AsyncEngine, tier: Tier = Tier.FREE, role: Role = Role.USER
) -> MintedUser:
    """A user written straight into the database, with an access token minted for it."""
    user = User(
        email=f"{uuid.uuid4().hex[:10]}@example.com",
        name="Test",
        password_hash="not-used",
        tier=tier.value,
        role=role.value,
    )
    async with create_sessionmaker(engine)() as session:
        session.add(user)
        await session.commit()
    token, _, _ = create_access_token(settings, user.id)
    return MintedUser(user.id, token)


async def make_api_key(engine: AsyncEngine, user_id: uuid.UUID) -> tuple[str, str]:
    """An API key of ``user_id`` written straight into the database: (raw key, prefix)."""
    raw = f"ks_{new_secret(24)}"
    prefix = raw[:12]
    async with create_sessionmaker(engine)() as session:
        session.add(ApiKey(user_id=user_id, name="test", prefix=prefix, key_hash=secret_digest(raw), scopes="read"))
        await session.commit()
    return raw, prefix
