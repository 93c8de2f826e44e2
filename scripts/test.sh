#!/usr/bin/env bash
# Lint, types, then the whole suite twice: SQLite + in-process, and PostgreSQL + Redis.
# The second run needs PostgreSQL on KSTOCK_TEST_PG_URL (default 127.0.0.1:5432, user postgres); outside CI it
# is skipped with a warning when no server answers, in CI (CI=true) its absence is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${KSTOCK_TEST_PG_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432}
export KSTOCK_TEST_PG_URL=$PG_URL

echo "== ruff, mypy =="
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench
$BIN/mypy

echo "== tests: SQLite + in-process =="
KSTOCK_TEST_BACKEND=sqlite $BIN/pytest "$@"

pg_up() {
  $BIN/python - "$PG_URL" <<'PY'
import asyncio, sys
import asyncpg
url = sys.argv[1].replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
async def main() -> None:
    connection = await asyncpg.connect(url, timeout=3)
    await connection.close()
try:
    asyncio.run(main())
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

if pg_up; then
  echo "== tests: PostgreSQL + Redis =="
  KSTOCK_TEST_BACKEND=postgres $BIN/pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is required in CI" >&2
  exit 1
else
  echo "WARNING: PostgreSQL not reachable at $PG_URL: the PostgreSQL + Redis run was skipped" >&2
fi
