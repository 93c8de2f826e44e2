#!/usr/bin/env bash
# Lints the OpenAPI document the API serves with Spectral: the spectral:oas and OWASP API Security rulesets,
# with the overrides (each with its reason) in tools/spectral/.spectral.yaml. Fails on any error.
# The linter's packages are pinned in tools/spectral/package-lock.json and installed with `npm ci` when
# node_modules is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=tools/spectral

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "npm is required to lint the OpenAPI document (install Node.js and npm)" >&2
    exit 1
  fi
fi

stamp=$TOOLS/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$TOOLS/package-lock.json" -nt "$stamp" ]; then
  (cd "$TOOLS" && SCARF_ANALYTICS=false npm ci --silent --no-audit --no-fund)
fi

KSTOCK_ENV=testing .venv/bin/kstock openapi --output "$TOOLS/openapi.json"  # needs no secret, no database
(cd "$TOOLS" && node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity error --display-only-failures openapi.json)
