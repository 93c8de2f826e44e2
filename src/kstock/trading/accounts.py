"""Paper-trading accounts: ownership and the write lock, opening, reset and deletion, their history, their value at
current prices and their risk view.

Every write to an account begins with :func:`lock_account`, an UPDATE of the account's ``revision`` that also
checks the owner: writers of one account (API requests on any instance, the engine's fills) run one after the
other, and another user's account matches no row (404, exactly like a missing one).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.db.session import flush_unique
from kstock.errors import ConflictError, NotFoundError
from kstock.identity.principal import Principal
from kstock.identity.tiers import require_quota_after_insert
from kstock.kit.clock import utcnow
from kstock.trading import repository
from kstock.trading.costs import DEFAULT_SCHEDULE, CostSchedule
from kstock.trading.events import emit
from kstock.trading.models import TradingAccount, TradingEquity, TradingEvent, TradingPosition
from kstock.trading.risk import RiskLimits
from kstock.trading.risk_state import AccountState, RiskOverride, evaluate_state

Prices = Callable[[str], int | None]
"""The current price of a stock (None when unknown): the snapshot's live price in the API, the tape's in the
engine."""


class AccountNotFoundError(NotFoundError):
    code = "ACCOUNT_NOT_FOUND"

    @classmethod
    def of(cls, account_id: uuid.UUID) -> AccountNotFoundError:
        return cls(f"Trading account {account_id} not found", {"account_id": str(account_id)})


class AccountNameTakenError(ConflictError):
    code = "ACCOUNT_NAME_TAKEN"
    default_message = "You already have a trading account with this name"


@functools.cache
def _parsed_schedule(raw: str | None) -> CostSchedule:
    return DEFAULT_SCHEDULE if not raw else CostSchedule.from_mapping(orjson.loads(raw))


def cost_schedule(settings: Settings) -> CostSchedule:
    """The dated commission and tax rates of the deployment (``KSTOCK_TRADING_COSTS``, else the KRX defaults)."""
    return _parsed_schedule(settings.trading_costs)


# -- ownership and the lock ------------------------------------------------------------------------------------


async def lock_account(
    session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> TradingAccount:
    """Take the account's write lock (the transaction's first statement), check its owner, and return it fresh."""
    if not await repository.bump_revision(session, account_id, user_id):
        raise AccountNotFoundError.of(account_id)
    account = await repository.fresh_account(session, account_id)
    if account is None:  # deleted between the two statements (PostgreSQL only)
        raise AccountNotFoundError.of(account_id)
    return account


async def owned_account(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> TradingAccount:
    account = await repository.owned_account(session, principal.user_id, account_id)
    if account is None:
        raise AccountNotFoundError.of(account_id)
    return account


# -- opening, reset, deletion ----------------------------------------------------------------------------------


async def create_account(
    session: AsyncSession, principal: Principal, settings: Settings, name: str, starting_cash: int
) -> TradingAccount:
    now = utcnow()
    account = TradingAccount(
        user_id=principal.user_id,
        name=name,
        starting_cash=starting_cash,
        cash=starting_cash,
        reserved_cash=0,
        realized_pnl=0,
        commissions=0,
        taxes=0,
        state=AccountState.ACTIVE.value,
        risk_limits={},
        peak_equity=starting_cash,
        start_of_day_equity=starting_cash,
        revision=0,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await flush_unique(session, AccountNameTakenError(details={"name": name}))
    await require_quota_after_insert(session, principal, settings, "trading_accounts", TradingAccount)
    session.add(TradingEquity(account_id=account.id, at=now, equity=starting_cash))
    return account


async def list_accounts(session: AsyncSession, principal: Principal) -> list[TradingAccount]:
    return await repository.accounts_of(session, principal.user_id)


async def reset_account(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, starting_cash: int | None
) -> TradingAccount:
    """Back to a fresh account: orders, fills, positions, signals and the equity curve are deleted (previews made
    before it stay valid for what remains of their 30 s, against the fresh account)."""
    account = await lock_account(session, account_id, principal.user_id)
    await repository.clear_history(session, account_id)
    cash = starting_cash if starting_cash is not None else account.starting_cash
    now = utcnow()
    account.starting_cash = account.cash = account.peak_equity = account.start_of_day_equity = cash
    account.reserved_cash = account.realized_pnl = account.commissions = account.taxes = 0
    account.state, account.state_reason, account.override, account.equity_date = (
        AccountState.ACTIVE.value,
        None,
        None,
        None,
    )
    session.add(TradingEquity(account_id=account_id, at=now, equity=cash))
    record_event(session, account, "account_reset", {"starting_cash": cash})
    return account


async def delete_account(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> None:
    await lock_account(session, account_id, principal.user_id)
    await repository.delete_account(session, account_id)


# -- history ---------------------------------------------------------------------------------------------------


def actor_label(account: TradingAccount, user_id: uuid.UUID | str) -> str:
    """Who acted on the account, as its owner sees it: ``owner``, or ``admin`` for anyone else (an admin's
    override). A user id never reaches another user; the audit log keeps who it was."""
    return "owner" if str(user_id) == str(account.user_id) else "admin"


def public_detail(account: TradingAccount, detail: Any) -> Any:
    """An event's detail with every ``set_by`` shown as a role label (rows written before labels held ids)."""
    if not isinstance(detail, dict):
        return detail
    shown = {key: public_detail(account, value) if isinstance(value, dict) else value for key, value in detail.items()}
    if isinstance(shown.get("set_by"), str) and shown["set_by"] not in {"owner", "admin"}:
        shown["set_by"] = actor_label(account, shown["set_by"])
    return shown


def record_event(session: AsyncSession, account: TradingAccount, kind: str, detail: dict[str, Any]) -> None:
    """Keep ``kind`` in the account's history and announce it on its channel after the commit."""
    session.add(TradingEvent(account_id=account.id, kind=kind, detail=detail, created_at=utcnow()))
    emit(session, account.id, kind, detail)


# -- valuation -------------------------------------------------------------------------------------------------


def mark(position: TradingPosition, prices: Prices) -> int:
    """The price a position is valued at: the live price, else its last fill's, else its average cost."""
    price = prices(position.stock_code) or position.last_price
    if price:
        return price
    return position.cost_basis // position.quantity if position.quantity else 0


def equity_of(account: TradingAccount, positions: Sequence[TradingPosition], prices: Prices) -> int:
    """Cash (D+2) plus every open position at market, KRW."""
    return account.cash + sum(p.quantity * mark(p, prices) for p in positions if p.quantity > 0)


# -- the risk view ---------------------------------------------------------------------------------------------


def limits_of(account: TradingAccount) -> RiskLimits:
    return RiskLimits.from_stored(account.risk_limits or {})


def override_of(account: TradingAccount) -> RiskOverride | None:
    raw = account.override
    if not raw:
        return None
    return RiskOverride(
        expires_at=dt.datetime.fromisoformat(raw["expires_at"]),
        reason=raw["reason"],
        level=AccountState(raw.get("level", AccountState.ACTIVE)),
    )


@dataclass(frozen=True, slots=True)
class RiskView:
    state: AccountState  # with an active override applied: what orders face
    latched: AccountState  # without it: what is stored
    reasons: list[str]
    equity: int


def risk_view(account: TradingAccount, equity: int, now: dt.datetime) -> RiskView:
    limits = limits_of(account)
    current = AccountState(account.state)
    peak = max(account.peak_equity, equity)
    latched, reasons = evaluate_state(current, equity, account.start_of_day_equity, peak, limits, None, now=now)
    effective, effective_reasons = evaluate_state(
        current, equity, account.start_of_day_equity, peak, limits, override_of(account), now=now
    )
    return RiskView(effective, latched, effective_reasons if effective is not latched else reasons, equity)


def update_risk_state(session: AsyncSession, account: TradingAccount, equity: int, now: dt.datetime) -> RiskView:
    """Fold ``equity`` into the peak, latch what the figures call for, and record a change of state."""
    view = risk_view(account, equity, now)
    account.peak_equity = max(account.peak_equity, equity)
    if view.latched.value != account.state:
        previous = account.state
        account.state = view.latched.value
        account.state_reason = "; ".join(view.reasons)[:500] or None
        record_event(
            session,
            account,
            "risk_state_changed",
            {"from": previous, "to": view.latched.value, "reasons": view.reasons, "equity": equity},
        )
    if account.override and not override_of(account).is_active(now):  # type: ignore[union-attr]
        record_event(session, account, "risk_override_expired", {"override": public_detail(account, account.override)})
        account.override = None
    return view


async def after_activity(session: AsyncSession, account: TradingAccount, prices: Prices) -> RiskView:
    """Revalue the account after a change, latch its risk state and keep a point of its equity curve.

    Equity points are stamped with the wall clock (the performance's days are real days, also under the demo's
    faster market clock); fills keep the market's time."""
    now = utcnow()
    await session.flush()  # the fills written so far, in one round (sessions do not autoflush)
    equity = equity_of(account, await repository.positions_of(session, account.id), prices)
    view = update_risk_state(session, account, equity, now)
    session.add(TradingEquity(account_id=account.id, at=now, equity=equity))
    return view
