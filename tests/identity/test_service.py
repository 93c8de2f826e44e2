"""The service without HTTP: ``create_user`` (what the admin bootstrap calls) and the password policy."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.db.engine import create_sessionmaker
from kstock.errors import ValidationError
from kstock.identity import service
from kstock.identity.passwords import COMMON_PASSWORDS, password_problems
from kstock.identity.principal import Role, Tier
from kstock.identity.security import verify_password

PASSWORD = "correct-horse-battery"


async def test_create_user_normalises_and_hashes(clean_engine: AsyncEngine) -> None:
    async with create_sessionmaker(clean_engine)() as session:
        user = await service.create_user(
            session, "  Admin@Example.KR ", PASSWORD, " Root ", tier=Tier.PRO, role=Role.ADMIN
        )
        await session.commit()
    assert (user.email, user.name, user.tier, user.role, user.is_active) == (
        "admin@example.kr",
        "Root",
        "pro",
        "admin",
        True,
    )
    assert PASSWORD not in user.password_hash
    assert await verify_password(PASSWORD, user.password_hash)

    async with create_sessionmaker(clean_engine)() as session:
        with pytest.raises(service.EmailExistsError):
            await service.create_user(session, "ADMIN@example.kr", PASSWORD, "Again")


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("no-at-sign", PASSWORD, "email"), ("kim@example.kr", "short", "password"), ("kim@example.kr", PASSWORD, "name")],
)
async def test_create_user_refuses_bad_input(clean_engine: AsyncEngine, email: str, password: str, field: str) -> None:
    async with create_sessionmaker(clean_engine)() as session:
        with pytest.raises(ValidationError) as caught:
            await service.create_user(session, email, password, "  " if field == "name" else "Kim")
    assert set(caught.value.details) == {field}


def test_password_policy() -> None:
    assert password_problems(PASSWORD, "kim@example.kr") == []
    assert password_problems("x" * 300, "kim@example.kr") == ["must have at most 256 characters"]
    # A local part too short to mean anything is not looked for.
    assert password_problems("jo-likes-long-passwords", "jo@example.kr") == []
    assert password_problems("I-am-KIMMY-2026", "kimmy@example.kr") == [
        "must not contain the e-mail address's local part"
    ]
    assert 90 <= len(COMMON_PASSWORDS) <= 150
    assert all(p == p.lower() for p in COMMON_PASSWORDS)
