"""Settings, read from ``KSTOCK_*`` environment variables (and an optional ``.env`` file)."""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY: Final = "change-me-kstock-development-secret"  # noqa: S105 - the known default we refuse in production
MIN_SECRET_KEY_LENGTH: Final = 32
# A secret's estimated strength: its length times the Shannon entropy of its characters. 32 random hex digits
# score about 120 bits, secrets.token_urlsafe(48) about 350, 32 times the same character 0.
MIN_SECRET_KEY_BITS: Final = 96
MIN_SECRET_KEY_DISTINCT: Final = 8
SECRET_FILE_NAME: Final = ".kstock-secret"  # noqa: S105 - a file name, not a secret


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TESTING = "testing"


class ConfigurationError(RuntimeError):
    """Settings that the server refuses to start with."""


class Settings(BaseSettings):
    """Every setting of a kstock process. Field ``x`` is read from ``KSTOCK_X``."""

    model_config = SettingsConfigDict(env_prefix="KSTOCK_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        default="sqlite+aiosqlite:///./kstock.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    redis_url: str | None = Field(default=None, description="redis://host:port/db; unset = in-process")
    redis_prefix: str = Field(default="kstock:", description="prefix of every Redis key this deployment writes")
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    auto_migrate: bool = Field(default=True, description="apply pending migrations when the server starts")

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_echo: bool = False

    log_level: str = "INFO"
    log_json: bool = Field(default=False, description="JSON log lines (one object per line) instead of text")

    demo_stocks: int = Field(default=2_400, ge=10, le=20_000)
    demo_years: int = Field(default=5, ge=1, le=30)
    demo_seed: int = 20_240_101

    import_batch_size: int = Field(default=100_000, ge=100, le=5_000_000)
    cache_max_entries: int = Field(default=1_024, ge=0, description="in-process response cache entries; 0 = off")
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, description="largest request body accepted (413 above)")
    max_header_bytes: int = Field(
        default=16_384, ge=1_024, le=1_048_576, description="largest request line plus headers accepted (431 above)"
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="time a client has to send a request's line and headers (408 after)"
    )
    secret_file: Path | None = Field(
        default=None,
        description="development only: where the generated signing key is kept (default: .kstock-secret next to "
        "the SQLite file, else in the working directory)",
    )
    docs_enabled: bool | None = Field(
        default=None, description="serve /docs (Swagger UI); unset = on outside production, off in production"
    )
    cors_origins: str = Field(default="", description="comma-separated origins allowed to call the API from a browser")
    compression_min_bytes: int = Field(
        default=1_024, ge=0, description="compress responses at least this large when the client asks; 0 = never"
    )
    access_log: bool = Field(default=True, description="one log line per HTTP request")
    snapshot_refresh_s: float = Field(
        default=5.0, ge=0, description="how often each instance checks for new market data; 0 = never"
    )

    # Tokens (identity)
    jwt_issuer: str = "kstock"
    jwt_audience: str = "kstock-api"
    access_token_ttl_s: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=3_600, le=365 * 86_400)
    jwt_leeway_s: int = Field(default=10, ge=0, le=300)

    # Rate limits ("N per S seconds" strings use the `limits` notation, e.g. "100/minute")
    rate_limit_enabled: bool = Field(default=True, description="request limits; never turns off brute-force throttles")
    rate_limit_free: str = "100/minute"
    rate_limit_basic: str = "500/minute"
    rate_limit_pro: str = "2000/minute"
    rate_limit_anonymous: str = "30/minute"
    rate_limit_data_burst: str = "10/second"
    rate_limit_trade_burst: str = "1/second"
    login_failures_per_account: str = "10/15minutes"
    login_failures_per_ip: str = "50/15minutes"
    registrations_per_ip: str = "30/hour"
    upgrade_url: str = "https://kstock.example/pricing"
    rate_limit_redis_probe_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="seconds between Redis probes during an outage (limits are per instance meanwhile)",
    )
    metrics_enabled: bool = Field(default=True, description="serve Prometheus metrics at /metrics")
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token /metrics requires on the API port (required there in production)"
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65_535, description="serve /metrics on this port of its own instead of the API port"
    )
    metrics_host: str = Field(default="127.0.0.1", description="address of the metrics port")

    # Real-time stream (/ws/stocks); the broker is in-process, or Redis pub/sub when redis_url is set
    ws_batch_window_ms: int = Field(
        default=25, ge=5, le=1_000, description="updates to a stock within one window reach a client once"
    )
    ws_heartbeat_s: float = Field(default=30.0, gt=0, description="seconds between heartbeat messages")
    ws_ping_interval_s: float = Field(default=20.0, gt=0, description="seconds between protocol pings")
    ws_ping_timeout_s: float = Field(default=20.0, gt=0, description="a peer silent this long after a ping is dropped")
    ws_slow_client_s: float = Field(
        default=5.0, gt=0, description="a client that cannot take data for this long is closed with 1013"
    )
    ws_compression: bool = Field(default=False, description="offer permessage-deflate (costs memory per connection)")
    ws_max_message_bytes: int = Field(default=65_536, ge=1_024, description="largest client message accepted")
    ws_client_messages_per_s: int = Field(default=50, ge=1, description="client messages per second per connection")

    # Market feed: "none" (another process, `kstock feed`, publishes) or "simulator" (run inside this process)
    feed: str = Field(default="none", pattern="^(none|simulator)$", description="feed run inside the API process")
    feed_speed: float = Field(default=1.0, gt=0, le=10_000, description="simulated seconds per wall-clock second")
    feed_seed: int = Field(default=20_240_101, description="simulator seed; the same seed gives the same market")
    feed_step_ms: int = Field(default=50, ge=5, le=5_000, description="wall-clock milliseconds between feed steps")
    feed_demo_clock: bool = Field(
        default=True, description="simulator keeps its own clock, always in session (false: real KRX hours)"
    )

    # Paper trading
    trading_engine: bool = Field(
        default=True, description="match resting orders, expire day orders and run strategies in the feed process"
    )
    trading_preview_ttl_s: int = Field(default=30, ge=5, le=300, description="how long an order preview is valid")
    trading_participation_pct: float = Field(
        default=100.0, gt=0, le=100, description="largest share of a print a resting paper order may fill"
    )
    trading_poll_ms: int = Field(
        default=250, ge=20, le=10_000, description="how often the engine picks up newly placed resting orders"
    )
    trading_costs: str | None = Field(
        default=None,
        description="JSON of dated commission and tax rates replacing the defaults (docs/api/trading.md)",
    )

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def docs_on(self) -> bool:
        """/docs: as set, else on everywhere but in production."""
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def metrics_on_api_port(self) -> bool:
        """/metrics on the API's own port: not when it has a port of its own, never anonymous in production."""
        if not self.metrics_enabled or self.metrics_port is not None:
            return False
        return self.metrics_token is not None or not self.is_production

    @property
    def secret_path(self) -> Path:
        """Where the development signing key is kept."""
        if self.secret_file is not None:
            return self.secret_file
        sqlite = self.sqlite_path
        return (sqlite.parent if sqlite is not None else Path()) / SECRET_FILE_NAME

    def use_development_secret(self) -> None:
        """In development with no secret set, sign with a random key kept in :attr:`secret_path` (made on first
        start, readable by its owner only) rather than with the public default. Elsewhere, nothing."""
        if self.env is not Environment.DEVELOPMENT or self.secret_key.get_secret_value() != DEFAULT_SECRET_KEY:
            return
        path = self.secret_path
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            secret = path.read_text(encoding="ascii").strip()
            if not secret:
                raise ConfigurationError(f"{path} is empty: remove it to have a new signing key made") from None
        else:
            secret = secrets.token_urlsafe(48)
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(secret + "\n")
        self.secret_key = SecretStr(secret)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """Filesystem path of a file-backed SQLite database, None for PostgreSQL or in-memory SQLite."""
        if not self.is_sqlite:
            return None
        _, _, path = self.database_url.partition(":///")
        if not path or path.startswith(":memory:"):
            return None
        return Path(path.split("?", 1)[0])

    def check_for_startup(self, *checks: Callable[[Settings], None]) -> None:
        """Refuse settings that must never reach production, and settings that could only fail later.

        ``checks`` are the domains' checks of their own settings (``kstock.app.STARTUP_CHECKS``), run first; each
        raises :class:`ConfigurationError`. The configuration imports no domain."""
        for check in checks:
            check(self)
        if self.env is Environment.PRODUCTION:
            secret = self.secret_key.get_secret_value()
            if secret == DEFAULT_SECRET_KEY or not strong_secret(secret):
                raise ConfigurationError(
                    "KSTOCK_SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_KEY_LENGTH} characters when KSTOCK_ENV=production "
                    "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            token = self.metrics_token.get_secret_value() if self.metrics_token is not None else None
            if token is not None and not strong_secret(token):
                raise ConfigurationError(
                    f"KSTOCK_METRICS_TOKEN must be a random value of at least {MIN_SECRET_KEY_LENGTH} characters "
                    "when KSTOCK_ENV=production"
                )


def secret_bits(secret: str) -> float:
    """Estimated strength of ``secret`` in bits: its length times the Shannon entropy of its characters."""
    if not secret:
        return 0.0
    total = len(secret)
    per_char = -sum(n / total * math.log2(n / total) for n in Counter(secret).values())
    return per_char * total


def strong_secret(secret: str) -> bool:
    """Long enough, of enough different characters, of enough estimated entropy, and not a repeated pattern (at
    least half of its adjacent pairs of characters differ from one another: "0123456789" four times has 10 pairs
    for 39 places, a random key almost one per place) to sign with."""
    pairs = {secret[i : i + 2] for i in range(len(secret) - 1)}
    return (
        len(secret) >= MIN_SECRET_KEY_LENGTH
        and len(set(secret)) >= MIN_SECRET_KEY_DISTINCT
        and secret_bits(secret) >= MIN_SECRET_KEY_BITS
        and len(pairs) * 2 >= len(secret) - 1
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
