#!/usr/bin/env bash
# Installs what the tests need, builds everything with warnings as errors and runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh chromium poppler-utils fonts-dejavu-core

# A throwaway PostgreSQL on 127.0.0.1 for the server's integration tests (installed with apt when missing).
eval "$(bash scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop "$AIM_TEST_POSTGRES_DIR" >/dev/null 2>&1 || true' EXIT

results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build Aim.Sdk.sln -c Release -nologo -clp:ErrorsOnly
status=0
dotnet test Aim.Sdk.sln -c Release --no-build -nologo --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

# One plain closing line over every test assembly.
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no tests ran" >&2
  status=1
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
