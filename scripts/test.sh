#!/usr/bin/env bash
# Lint, types, the OpenAPI document (Spectral), then the whole suite twice: SQLite + in-process, and
# PostgreSQL + Redis.
# The second run needs PostgreSQL on KSTOCK_TEST_PG_URL (default 127.0.0.1:5432, user postgres) and Redis on
# KSTOCK_TEST_REDIS_URL (default redis://127.0.0.1:6379/0); outside CI it is skipped with a warning when either
# does not answer, in CI (CI=true) their absence is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${KSTOCK_TEST_PG_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432}
export KSTOCK_TEST_PG_URL=$PG_URL
REDIS_URL=${KSTOCK_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
export KSTOCK_TEST_REDIS_URL=$REDIS_URL

echo "== ruff, mypy =="
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench
$BIN/mypy

echo "== OpenAPI document: Spectral (spectral:oas + OWASP API Security) =="
scripts/lint-openapi.sh

echo "== tests: SQLite + in-process =="
KSTOCK_TEST_BACKEND=sqlite $BIN/pytest "$@"

pg_up() {
  $BIN/python - "$PG_URL" "$REDIS_URL" <<'PY'
import asyncio, sys
import asyncpg
from redis.asyncio import Redis
url = sys.argv[1].replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
async def main() -> None:
    connection = await asyncpg.connect(url, timeout=3)
    await connection.close()
    redis = Redis.from_url(sys.argv[2], socket_connect_timeout=3)
    try:
        await redis.ping()
    finally:
        await redis.aclose()
try:
    asyncio.run(main())
except Exception as exc:
    print(f"PostgreSQL or Redis not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

if pg_up; then
  echo "== tests: PostgreSQL + Redis =="
  KSTOCK_TEST_BACKEND=postgres $BIN/pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL and Redis are required in CI" >&2
  exit 1
else
  echo "WARNING: PostgreSQL ($PG_URL) or Redis ($REDIS_URL) not reachable: the PostgreSQL + Redis run was skipped" >&2
fi
